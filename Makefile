# The two commands of the README: `make run` and `make test`.

SWIFT ?= swift

.PHONY: run test deps build release bench fuzz

## Install what is missing, build, and run Floe on its embedded default configuration.
run: deps release
	.build/release/floe

## Install what is missing and run the whole test suite.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

deps:
	scripts/install-deps

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product floe

## Floe beside Icecast under the same load (see bench/README.md).
bench: deps release
	python3 bench/run.py --server both --listeners 1000

## libFuzzer harnesses of every parser, a minute each (scripts/fuzz SECONDS for another budget).
fuzz: deps
	scripts/fuzz 60

/*
 * floe-loadgen: single-threaded epoll HTTP listener load generator for
 * Icecast-compatible streaming servers.
 *
 * Build:  cc -O2 -o bench/out/loadgen bench/loadgen.c
 *
 * Opens N listener connections to http://HOST:PORT/PATH at a fixed rate,
 * reads (and discards) everything, then holds all connections for a steady
 * window and reports one JSON object on stdout.
 *
 * Timeline
 *   ramp    : connections are started at --rate per second. The ramp ends when
 *             every connection has been started and has either received its
 *             first byte or failed, or --ramp-grace seconds after the last
 *             connection was started, whichever comes first, plus --settle
 *             seconds (default 1) so that the initial bursts have drained.
 *   steady  : --duration seconds. Stall detection and the bytes/s figure
 *             cover this window only. By default (--read-interval-ms 250) the
 *             streaming sockets leave epoll at the start of the window and are
 *             read with one recv() each every 250 ms: a socket registered in
 *             epoll makes each loopback send() of the server run the epoll
 *             callback (and often a wakeup of this process), and the per-segment
 *             reads would cost this process about as much CPU as the server.
 *             --read-interval-ms 0 keeps every socket in epoll throughout.
 *
 * Progress events for a supervising process are written to stderr as single
 * lines, "EVENT ramped <monotonic_s>" and "EVENT done <monotonic_s>", and, with
 * --steady-callback-file F, also written to F ("ramped\n", then "done\n").
 *
 * TLS (--tls): each listener connects over TLS (OpenSSL; TLS 1.2 at least, SNI "localhost", no certificate
 * verification: the tool measures the server, not the trust chain; no session resumption, so every listener
 * makes a full handshake). The JSON adds the handshake time (connect() to the end of the handshake) and the
 * version and cipher suite of the first handshake.
 *
 * Handshake rate (--tls --handshake-seconds S [--concurrency C]): instead of listeners, C connections at a time
 * each make a full TLS handshake and close (close_notify), again and again for S seconds; "EVENT ramped" and
 * "EVENT done" bracket the S seconds, so a supervisor can sample the server's CPU over them. Reports
 * handshakes, handshakes per second and the handshake time.
 *
 * Build:  cc -O2 -o bench/out/loadgen bench/loadgen.c -lssl -lcrypto
 *
 * Loopback only: --host must be a numeric IPv4 address in 127.0.0.0/8.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum cstate {
    ST_IDLE = 0,   /* not started yet */
    ST_CONNECTING, /* connect() in progress */
    ST_HANDSHAKE,  /* TLS handshake in progress */
    ST_SENDING,    /* request partly sent */
    ST_WAITING,    /* request sent, waiting for the status line */
    ST_STREAMING,  /* got "200", receiving body */
    ST_FAILED,     /* closed with an error */
};

enum reason {
    R_SOCKET,        /* socket() failed (EMFILE, ...) */
    R_CONNECT,       /* connect() failed / refused */
    R_RESET,         /* ECONNRESET or other recv/send error */
    R_EOF_NO_STATUS, /* closed before a complete status line */
    R_EOF_STREAMING, /* closed by the server while streaming, before the end of the run */
    R_BAD_STATUS,    /* unparseable status line */
    R_HTTP,          /* non-200 status (see http_codes) */
    R_NO_RESPONSE,   /* request sent, no byte at all by the end of the run */
    R_STILL_CONNECTING, /* connect() still in progress at the end of the run (SYN not answered) */
    R_NO_STATUS_END, /* some bytes but no complete status line by the end of the run */
    R_TLS,           /* the TLS handshake or a TLS record failed */
    R_HANDSHAKE_END, /* TLS handshake still in progress at the end of the run */
    R_COUNT
};
static const char *reason_name[R_COUNT] = {
    "socket_error", "connect_error", "reset", "eof_before_status", "eof_while_streaming",
    "bad_status_line", "http_non_200", "no_response", "still_connecting", "incomplete_status",
    "tls_error", "handshake_unfinished",
};

struct conn {
    int fd;
    SSL *ssl;         /* with --tls */
    float handshake_ms;
    uint8_t state;
    uint8_t stalled;
    uint8_t hdrlen;
    uint8_t got_byte;
    uint8_t swept; /* removed from epoll; read by the periodic sweep */
    char hdr[20];
    double t_start;   /* monotonic seconds at connect() call */
    double last_rx;   /* monotonic seconds of last received byte */
    float ttfb_ms;
    float max_gap_ms; /* largest receive gap inside the steady window */
    uint64_t bytes;
    uint32_t bytes_steady; /* received inside the steady window */
};

static struct conn *conns;
static int n_listeners = 1000;
static double rate = 250.0;
static double duration = 30.0;
static double stall_ms = 2000.0;
static double ramp_grace = 10.0;
static double settle_s = 1.0; /* after the ramp, before the steady window (bursts drain) */
/* Steady window: > 0 = take streaming sockets out of epoll and sweep them with recv() every
 * read_interval_ms; 0 = keep them in epoll (woken on every segment). */
static double read_interval_ms = 250;
/* The stream's byte rate (16,000 for 128 kbps): listeners alive at the end that received less than 90 % of it
 * over the steady window are counted in below_90pct. */
static double expect_bps = 16000;
/* Ask for in-band ICY titles (Icy-MetaData: 1), as VLC, mpv and browsers' players do. */
static int icy = 0;
static int json = 0;
static const char *host = "127.0.0.1";
static int port = 8000;
static const char *path = "/bench";
static const char *callback_file = NULL;
static int use_tls = 0;
static double handshake_seconds = 0; /* > 0: the handshake-rate test instead of listeners */
static int concurrency = 64;         /* handshakes in flight in the handshake-rate test */
static SSL_CTX *tls_ctx;
static char tls_version[32], tls_cipher[96]; /* of the first handshake */
static float *handshake_ms;          /* completed handshakes' times */
static long n_handshakes, handshake_ms_cap;

static char request[1024];
static int request_len;
static struct sockaddr_in addr;
static int epfd;

static uint64_t reasons[R_COUNT];
static struct { int code; uint64_t n; } http_codes[32];
static int n_http_codes;

static int n_started, n_pending /* started, no first byte, not failed */, n_alive /* streaming */;
static int n_connected /* ever got 200 */, n_failed, n_stalled;
static int n_late; /* first byte only after the ramp (inside the steady window) */
static int alive_at_ramp, alive_at_end;
static uint64_t bytes_total, bytes_steady;
static double t0, t_ramped = -1, t_end = -1;
static int phase; /* 0 ramp, 1 steady, 2 done */
static int first_errno_socket; /* errno of the first socket() failure */
static volatile sig_atomic_t interrupted;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_signal(int sig) { (void)sig; interrupted = 1; }

static void emit_event(const char *what, double t) {
    fprintf(stderr, "EVENT %s %.6f\n", what, t);
    fflush(stderr);
    if (callback_file) {
        FILE *f = fopen(callback_file, "a");
        if (f) {
            fprintf(f, "%s\n", what);
            fclose(f);
        }
    }
}

static void count_http(int code) {
    for (int i = 0; i < n_http_codes; i++)
        if (http_codes[i].code == code) { http_codes[i].n++; return; }
    if (n_http_codes < (int)(sizeof http_codes / sizeof http_codes[0])) {
        http_codes[n_http_codes].code = code;
        http_codes[n_http_codes].n = 1;
        n_http_codes++;
    }
}

static void fail(struct conn *c, enum reason r) {
    if (c->state == ST_FAILED || c->state == ST_IDLE) return;
    if (c->state == ST_STREAMING) n_alive--;
    if (c->state == ST_CONNECTING || c->state == ST_HANDSHAKE || c->state == ST_SENDING ||
        (c->state == ST_WAITING && !c->got_byte))
        n_pending--;
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd); /* also removes it from the epoll set */
        c->fd = -1;
    }
    c->state = ST_FAILED;
    reasons[r]++;
    n_failed++;
}

/* Send (the rest of) the request; returns 0 on success/in-progress, -1 if failed. */
static int send_request(struct conn *c, int idx) {
    int off = c->hdrlen; /* while sending, hdrlen holds the number of request bytes sent */
    while (off < request_len) {
        ssize_t w;
        if (c->ssl) {
            /* Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write writes all or, on WANT_WRITE, must be called again
             * with the same arguments: `off` stays where it is. */
            int r = SSL_write(c->ssl, request + off, request_len - off);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) break;
                fail(c, R_TLS);
                return -1;
            }
            w = r;
        } else {
            w = send(c->fd, request + off, (size_t)(request_len - off), MSG_NOSIGNAL);
        }
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            fail(c, R_RESET);
            return -1;
        }
        off += (int)w;
    }
    struct epoll_event ev = { .data.u32 = (uint32_t)idx };
    if (off < request_len) {
        c->hdrlen = (uint8_t)off;
        c->state = ST_SENDING;
        ev.events = EPOLLOUT;
    } else {
        c->hdrlen = 0;
        c->state = ST_WAITING;
        ev.events = EPOLLIN | EPOLLRDHUP;
    }
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        fail(c, R_RESET);
        return -1;
    }
    return 0;
}

static void record_handshake(struct conn *c, double t) {
    c->handshake_ms = (float)((t - c->t_start) * 1000.0);
    if (n_handshakes == handshake_ms_cap) {
        handshake_ms_cap = handshake_ms_cap ? 2 * handshake_ms_cap : 4096;
        handshake_ms = realloc(handshake_ms, sizeof(float) * (size_t)handshake_ms_cap);
        if (!handshake_ms) { perror("realloc"); exit(1); }
    }
    handshake_ms[n_handshakes++] = c->handshake_ms;
    if (!tls_version[0]) {
        snprintf(tls_version, sizeof tls_version, "%s", SSL_get_version(c->ssl));
        snprintf(tls_cipher, sizeof tls_cipher, "%s", SSL_get_cipher_name(c->ssl));
    }
}

/* Drives the TLS handshake; returns 1 when it is complete, 0 while in progress, -1 when it failed (c is failed). */
static int continue_handshake(struct conn *c, int idx) {
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        record_handshake(c, now_s());
        return 1;
    }
    struct epoll_event ev = { .data.u32 = (uint32_t)idx };
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ: ev.events = EPOLLIN | EPOLLRDHUP; break;
    case SSL_ERROR_WANT_WRITE: ev.events = EPOLLOUT; break;
    default: fail(c, R_TLS); return -1;
    }
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) { fail(c, R_RESET); return -1; }
    return 0;
}

static void after_handshake(struct conn *c, int idx);

/* The TCP connection is up: start TLS (--tls) or send the request. */
static void on_connected(struct conn *c, int idx) {
    if (!use_tls) {
        send_request(c, idx);
        return;
    }
    c->ssl = SSL_new(tls_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set_tlsext_host_name(c->ssl, "localhost") != 1) {
        fail(c, R_TLS);
        return;
    }
    SSL_set_connect_state(c->ssl);
    c->state = ST_HANDSHAKE;
    if (continue_handshake(c, idx) == 1) after_handshake(c, idx);
}

static void start_conn(int idx) {
    struct conn *c = &conns[idx];
    n_started++;
    c->t_start = now_s();
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        if (!first_errno_socket) first_errno_socket = errno;
        c->state = ST_FAILED;
        reasons[R_SOCKET]++;
        n_failed++;
        return;
    }
    c->state = ST_CONNECTING;
    n_pending++;
    struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)idx };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        fail(c, R_SOCKET);
        return;
    }
    int r = connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
    if (r == 0) {
        on_connected(c, idx);
    } else if (errno != EINPROGRESS) {
        fail(c, R_CONNECT);
    }
}

/* Take a streaming socket out of epoll: while it is registered, every segment the server
 * sends runs ep_poll_callback (and often a wakeup of this process) inside the server's
 * send() on loopback, which a remote listener would not cost the server. */
static void to_sweep(struct conn *c) {
    if (c->swept || c->fd < 0) return;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->swept = 1;
}

static void handle_status(struct conn *c) {
    /* c->hdr holds the beginning of the response; parse "HTTP/x.y NNN" or "ICY NNN" */
    const char *sp = memchr(c->hdr, ' ', c->hdrlen);
    int code = -1;
    if (sp && (sp + 4) <= c->hdr + c->hdrlen) {
        const char *p = sp + 1;
        if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9')
            code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    }
    if (code == 200) {
        c->state = ST_STREAMING;
        n_alive++;
        n_connected++;
        if (phase == 1 && read_interval_ms > 0) to_sweep(c);
    } else if (code < 0) {
        fail(c, R_BAD_STATUS);
    } else {
        count_http(code);
        fail(c, R_HTTP);
    }
}

static unsigned char rxbuf[1 << 17];

/* recv(), or SSL_read() with --tls, with recv()'s results: > 0 bytes, 0 at the end of the stream, -1 with errno
 * (EAGAIN when nothing is there yet). */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len) {
    if (!c->ssl) return recv(c->fd, buf, len, 0);
    int n = SSL_read(c->ssl, buf, (int)len);
    if (n > 0) return n;
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: errno = EAGAIN; return -1;
    case SSL_ERROR_ZERO_RETURN: return 0; /* close_notify, or a bare EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
    default: ERR_clear_error(); errno = ECONNRESET; return -1;
    }
}

static void on_readable(struct conn *c, double t) {
    for (;;) {
        ssize_t n = conn_recv(c, rxbuf, sizeof rxbuf);
        if (n > 0) {
            int first = !c->got_byte;
            if (first) {
                c->got_byte = 1;
                c->ttfb_ms = (float)((t - c->t_start) * 1000.0);
                n_pending--;
                if (phase == 1) n_late++;
            }
            if (phase == 1) {
                /* a wait for the first byte is counted in the TTFB, not as a stall */
                double from = first ? t : (c->last_rx > t_ramped ? c->last_rx : t_ramped);
                double gap = (t - from) * 1000.0;
                if (gap > c->max_gap_ms) c->max_gap_ms = (float)gap;
                if (gap > stall_ms && !c->stalled) { c->stalled = 1; n_stalled++; }
                bytes_steady += (uint64_t)n;
                c->bytes_steady += (uint32_t)n;
            }
            c->last_rx = t;
            c->bytes += (uint64_t)n;
            bytes_total += (uint64_t)n;
            if (c->state == ST_WAITING) {
                size_t room = sizeof c->hdr - c->hdrlen;
                size_t take = (size_t)n < room ? (size_t)n : room;
                memcpy(c->hdr + c->hdrlen, rxbuf, take);
                c->hdrlen = (uint8_t)(c->hdrlen + take);
                int have_line = memchr(c->hdr, '\n', c->hdrlen) != NULL;
                if (have_line || c->hdrlen >= 12) handle_status(c);
                if (c->state == ST_FAILED) return;
            }
            /* Level-triggered: more will be signalled. Not with TLS: OpenSSL may hold decrypted bytes that the
             * socket no longer signals, so read until it says WANT_READ. */
            if (!c->ssl && (size_t)n < sizeof rxbuf) return;
            continue;
        }
        if (n == 0) {
            if (c->state == ST_STREAMING) fail(c, R_EOF_STREAMING);
            else if (c->state == ST_WAITING && c->hdrlen > 0) { handle_status(c); if (c->state != ST_FAILED) fail(c, R_EOF_STREAMING); }
            else fail(c, R_EOF_NO_STATUS);
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        fail(c, R_RESET);
        return;
    }
}

static void on_event(uint32_t idx, uint32_t events, double t) {
    struct conn *c = &conns[idx];
    if (c->state == ST_FAILED || c->fd < 0) return;
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
            fail(c, R_CONNECT);
            return;
        }
        on_connected(c, (int)idx);
        return;
    }
    if (c->state == ST_HANDSHAKE) {
        if (continue_handshake(c, (int)idx) == 1) after_handshake(c, (int)idx);
        return;
    }
    if (c->state == ST_SENDING) {
        if (events & (EPOLLERR | EPOLLHUP)) { fail(c, R_RESET); return; }
        send_request(c, (int)idx);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c, t);
}

/* The handshake-rate test: close (close_notify, then the socket) and let the main loop start the slot again. */
static void after_handshake(struct conn *c, int idx) {
    if (handshake_seconds <= 0) {
        send_request(c, idx);
        return;
    }
    SSL_shutdown(c->ssl); /* sends close_notify; the answer is not awaited */
    SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd);
    c->fd = -1;
    n_pending--;
    c->state = ST_IDLE;
}

static int cmp_float(const void *a, const void *b);
static double pct(const float *v, int n, double p);
static void print_reasons(FILE *out);

/* --handshake-seconds: `concurrency` slots, each connecting, handshaking and closing again and again. */
static int run_handshake_test(void) {
    conns = calloc((size_t)concurrency, sizeof *conns);
    if (!conns) { perror("calloc"); return 1; }
    static struct epoll_event evs[1024];
    t0 = now_s();
    emit_event("ramped", t0);
    double t = t0;
    while (t - t0 < handshake_seconds && !interrupted) {
        for (int i = 0; i < concurrency; i++) {
            struct conn *c = &conns[i];
            if (c->state != ST_IDLE && c->state != ST_FAILED) continue;
            memset(c, 0, sizeof *c);
            c->fd = -1;
            start_conn(i);
        }
        int n = epoll_wait(epfd, evs, 1024, 50);
        if (n < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
        t = now_s();
        for (int i = 0; i < n; i++) on_event(evs[i].data.u32, evs[i].events, t);
    }
    double seconds = now_s() - t0;
    emit_event("done", t0 + seconds);
    qsort(handshake_ms, (size_t)n_handshakes, sizeof(float), cmp_float);
    printf("{\"mode\": \"handshakes\", \"concurrency\": %d, \"seconds\": %.3f, \"handshakes\": %ld, "
           "\"handshakes_per_s\": %.1f, \"failed\": %d, \"failed_reasons\": {",
           concurrency, seconds, n_handshakes, (double)n_handshakes / seconds, n_failed);
    print_reasons(stdout);
    printf("}, \"handshake_ms_p50\": %.3f, \"handshake_ms_p99\": %.3f, \"tls_version\": \"%s\", "
           "\"tls_cipher\": \"%s\"}\n",
           pct(handshake_ms, (int)n_handshakes, 0.50), pct(handshake_ms, (int)n_handshakes, 0.99), tls_version,
           tls_cipher);
    fflush(stdout);
    return interrupted ? 130 : 0;
}

/* Scan live connections for stalls (receive gaps that are still open). */
static void scan_stalls(double t) {
    for (int i = 0; i < n_started; i++) {
        struct conn *c = &conns[i];
        if (c->state != ST_STREAMING) continue;
        double from = c->last_rx > t_ramped ? c->last_rx : t_ramped;
        double gap = (t - from) * 1000.0;
        if (gap > c->max_gap_ms) c->max_gap_ms = (float)gap;
        if (gap > stall_ms && !c->stalled) { c->stalled = 1; n_stalled++; }
    }
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double pct(const float *v, int n, double p) {
    if (n <= 0) return -1;
    int i = (int)(p * (double)(n - 1) + 0.5);
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return v[i];
}

/* The failure reasons as the members of a JSON object. */
static void print_reasons(FILE *out) {
    int first = 1;
    for (int r = 0; r < R_COUNT; r++) {
        if (!reasons[r]) continue;
        fprintf(out, "%s\"%s\": %llu", first ? "" : ", ", reason_name[r], (unsigned long long)reasons[r]);
        first = 0;
    }
    for (int i = 0; i < n_http_codes; i++) {
        fprintf(out, "%s\"http_%d\": %llu", first ? "" : ", ", http_codes[i].code,
                (unsigned long long)http_codes[i].n);
        first = 0;
    }
}

/* The client context: TLS 1.2 at least, no verification, no session reuse (every handshake a full one). */
static SSL_CTX *make_tls_context(void) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    return ctx;
}

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s --host 127.0.0.1 --port P [--path /bench] [--listeners N] [--rate R]\n"
            "          [--duration S] [--stall-ms MS] [--ramp-grace S] [--settle S] [--json]\n"
            "          [--read-interval-ms MS] [--steady-callback-file F] [--expect-bps B] [--icy]\n"
            "          [--tls [--handshake-seconds S [--concurrency C]]]\n",
            argv0);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"host", required_argument, 0, 'h'},
        {"port", required_argument, 0, 'p'},
        {"path", required_argument, 0, 'P'},
        {"listeners", required_argument, 0, 'n'},
        {"rate", required_argument, 0, 'r'},
        {"duration", required_argument, 0, 'd'},
        {"stall-ms", required_argument, 0, 's'},
        {"ramp-grace", required_argument, 0, 'g'},
        {"settle", required_argument, 0, 'S'},
        {"read-interval-ms", required_argument, 0, 'i'},
        {"json", no_argument, 0, 'j'},
        {"steady-callback-file", required_argument, 0, 'c'},
        {"expect-bps", required_argument, 0, 'e'},
        {"icy", no_argument, 0, 'I'},
        {"tls", no_argument, 0, 'T'},
        {"handshake-seconds", required_argument, 0, 'H'},
        {"concurrency", required_argument, 0, 'C'},
        {"help", no_argument, 0, '?'},
        {0, 0, 0, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "h:p:P:n:r:d:s:g:S:i:jc:e:ITH:C:", opts, NULL)) != -1) {
        switch (o) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'P': path = optarg; break;
        case 'n': n_listeners = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 's': stall_ms = atof(optarg); break;
        case 'g': ramp_grace = atof(optarg); break;
        case 'S': settle_s = atof(optarg); break;
        case 'i': read_interval_ms = atof(optarg); break;
        case 'j': json = 1; break;
        case 'c': callback_file = optarg; break;
        case 'e': expect_bps = atof(optarg); break;
        case 'I': icy = 1; break;
        case 'T': use_tls = 1; break;
        case 'H': handshake_seconds = atof(optarg); break;
        case 'C': concurrency = atoi(optarg); break;
        default: usage(argv[0]); return 2;
        }
    }
    if (n_listeners <= 0 || rate <= 0 || duration < 0 || port <= 0 || port > 65535 || concurrency <= 0 ||
        (handshake_seconds > 0 && !use_tls)) {
        usage(argv[0]);
        return 2;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 || (ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "loadgen: --host must be a numeric IPv4 loopback address (127.x.x.x)\n");
        return 2;
    }
    request_len = snprintf(request, sizeof request,
                           "GET %s HTTP/1.0\r\nHost: %s:%d\r\nUser-Agent: floe-loadgen\r\n%s\r\n",
                           path, host, port, icy ? "Icy-MetaData: 1\r\n" : "");
    if (request_len <= 0 || request_len >= (int)sizeof request || request_len > 255) {
        fprintf(stderr, "loadgen: path too long\n");
        return 2;
    }

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if ((long long)rl.rlim_cur < (long long)n_listeners + 16)
            fprintf(stderr, "loadgen: warning: RLIMIT_NOFILE %llu < listeners + 16\n",
                    (unsigned long long)rl.rlim_cur);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    conns = calloc((size_t)n_listeners, sizeof *conns);
    if (!conns) { perror("calloc"); return 1; }
    for (int i = 0; i < n_listeners; i++) conns[i].fd = -1;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) { perror("epoll_create1"); return 1; }
    if (use_tls && !(tls_ctx = make_tls_context())) {
        fprintf(stderr, "loadgen: cannot make a TLS context\n");
        return 1;
    }
    if (handshake_seconds > 0) return run_handshake_test();

    enum { BATCH = 4096 };
    static struct epoll_event evs[BATCH];
    t0 = now_s();
    double t_last_start = t0, t_last_scan = t0;
    double t_next_sweep = 0, t_settle = -1;
    double ramp_nominal = (double)n_listeners / rate;
    /* Absolute bound for the whole run. */
    double t_hard_end = t0 + ramp_nominal + ramp_grace + duration + 30.0;

    while (phase < 2 && !interrupted) {
        double t = now_s();
        if (t > t_hard_end) break;

        /* start connections on schedule */
        if (n_started < n_listeners) {
            long due = (long)((t - t0) * rate) + 1;
            if (due > n_listeners) due = n_listeners;
            while (n_started < due) start_conn(n_started);
            if (n_started == n_listeners) t_last_start = now_s();
        }

        /* phase transitions */
        t = now_s();
        if (phase == 0 && t_settle < 0 && n_started == n_listeners &&
            (n_pending == 0 || t - t_last_start >= ramp_grace))
            t_settle = t; /* everyone answered (or grace is over): let the bursts drain */
        if (phase == 0 && t_settle >= 0 && t - t_settle >= settle_s) {
            phase = 1;
            t_ramped = t;
            alive_at_ramp = n_alive;
            t_last_scan = t;
            if (read_interval_ms > 0) {
                for (int i = 0; i < n_started; i++)
                    if (conns[i].state == ST_STREAMING) to_sweep(&conns[i]);
                t_next_sweep = t + read_interval_ms / 1000.0;
            }
            emit_event("ramped", t);
        } else if (phase == 1 && t - t_ramped >= duration) {
            if (read_interval_ms > 0) { /* last sweep: count what arrived inside the window */
                for (int i = 0; i < n_started; i++)
                    if (conns[i].swept && conns[i].state == ST_STREAMING) on_readable(&conns[i], t);
            }
            scan_stalls(t);
            t_end = t;
            alive_at_end = n_alive;
            phase = 2;
            emit_event("done", t);
            break;
        }
        if (phase == 1 && read_interval_ms > 0 && t >= t_next_sweep) {
            for (int i = 0; i < n_started; i++)
                if (conns[i].swept && conns[i].state == ST_STREAMING) on_readable(&conns[i], t);
            t_next_sweep += read_interval_ms / 1000.0;
            if (t_next_sweep < t) t_next_sweep = t + read_interval_ms / 1000.0;
            t = now_s();
        }
        if (phase == 1 && t - t_last_scan >= 0.25) {
            scan_stalls(t);
            t_last_scan = t;
        }

        /* wait */
        int timeout_ms;
        if (n_started < n_listeners) {
            double next = t0 + (double)n_started / rate;
            timeout_ms = (int)((next - t) * 1000.0);
            if (timeout_ms < 0) timeout_ms = 0;
            if (timeout_ms > 5) timeout_ms = 5;
        } else if (phase == 0) {
            timeout_ms = 10;
        } else {
            double rem = t_ramped + duration - t;
            timeout_ms = (int)(rem * 1000.0) + 1;
            if (timeout_ms > 50) timeout_ms = 50;
            if (timeout_ms < 0) timeout_ms = 0;
        }
        if (phase == 1 && read_interval_ms > 0) {
            int to_sweep_ms = (int)((t_next_sweep - t) * 1000.0) + 1;
            if (to_sweep_ms < timeout_ms) timeout_ms = to_sweep_ms < 0 ? 0 : to_sweep_ms;
        }
        int n = epoll_wait(epfd, evs, BATCH, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            break;
        }
        t = now_s();
        for (int i = 0; i < n; i++) on_event(evs[i].data.u32, evs[i].events, t);
    }

    double t_stop = now_s();
    if (t_ramped < 0) { t_ramped = t_stop; alive_at_ramp = n_alive; }
    if (t_end < 0) { scan_stalls(t_stop); t_end = t_stop; alive_at_end = n_alive; }

    /* Classify connections still without a status at the end of the run. */
    for (int i = 0; i < n_listeners; i++) {
        struct conn *c = &conns[i];
        if (c->state == ST_CONNECTING || c->state == ST_HANDSHAKE || c->state == ST_SENDING || c->state == ST_WAITING)
            fail(c, c->got_byte ? R_NO_STATUS_END
                    : c->state == ST_CONNECTING ? R_STILL_CONNECTING
                    : c->state == ST_HANDSHAKE ? R_HANDSHAKE_END : R_NO_RESPONSE);
    }

    /* TTFB over connections that received a byte */
    float *tt = malloc(sizeof(float) * (size_t)n_listeners);
    int n_tt = 0;
    float max_gap = 0;
    for (int i = 0; i < n_listeners; i++) {
        if (conns[i].got_byte) tt[n_tt++] = conns[i].ttfb_ms;
        if (conns[i].max_gap_ms > max_gap) max_gap = conns[i].max_gap_ms;
    }
    qsort(tt, (size_t)n_tt, sizeof(float), cmp_float);
    double steady_s = t_end - t_ramped;
    double avg_alive = 0.5 * (alive_at_ramp + alive_at_end);
    double bpls = (steady_s > 0 && avg_alive > 0) ? (double)bytes_steady / (avg_alive * steady_s) : 0;

    /* Per-listener rate over the steady window, for listeners streaming at its end. */
    float *rates = malloc(sizeof(float) * (size_t)n_listeners);
    int n_rates = 0, n_below_90 = 0;
    for (int i = 0; i < n_listeners && steady_s > 0; i++) {
        if (conns[i].state != ST_STREAMING) continue;
        float r = (float)((double)conns[i].bytes_steady / steady_s);
        rates[n_rates++] = r;
        if (r < 0.9 * expect_bps) n_below_90++;
    }
    qsort(rates, (size_t)n_rates, sizeof(float), cmp_float);

    FILE *out = stdout;
    if (json) {
        fprintf(out, "{\"listeners_requested\": %d, \"started\": %d, \"connected\": %d, "
                     "\"alive_at_ramp\": %d, \"alive_at_end\": %d, \"failed\": %d, \"failed_reasons\": {",
                n_listeners, n_started, n_connected, alive_at_ramp, alive_at_end, n_failed);
        print_reasons(out);
        fprintf(out, "}, \"late_first_byte\": %d, \"stalled\": %d, \"stall_ms\": %.0f, \"max_gap_ms\": %.1f, "
                     "\"ttfb_ms_p50\": %.3f, \"ttfb_ms_p99\": %.3f, \"ttfb_ms_max\": %.3f, "
                     "\"bytes_total\": %llu, \"bytes_steady\": %llu, \"bytes_per_listener_per_s\": %.1f, "
                     "\"ramp_seconds\": %.3f, \"steady_seconds\": %.3f, \"interrupted\": %s, "
                     "\"socket_errno\": %d, \"expect_bps\": %.0f, \"below_90pct\": %d, "
                     "\"rate_min\": %.1f, \"rate_p01\": %.1f, \"rate_p50\": %.1f",
                n_late, n_stalled, stall_ms, max_gap, pct(tt, n_tt, 0.50), pct(tt, n_tt, 0.99),
                n_tt ? (double)tt[n_tt - 1] : -1.0, (unsigned long long)bytes_total,
                (unsigned long long)bytes_steady, bpls, t_ramped - t0, steady_s,
                interrupted ? "true" : "false", first_errno_socket, expect_bps, n_below_90,
                n_rates ? (double)rates[0] : -1.0, pct(rates, n_rates, 0.01), pct(rates, n_rates, 0.50));
        if (use_tls) {
            qsort(handshake_ms, (size_t)n_handshakes, sizeof(float), cmp_float);
            fprintf(out, ", \"tls\": true, \"handshakes\": %ld, \"handshake_ms_p50\": %.3f, "
                         "\"handshake_ms_p99\": %.3f, \"tls_version\": \"%s\", \"tls_cipher\": \"%s\"",
                    n_handshakes, pct(handshake_ms, (int)n_handshakes, 0.50),
                    pct(handshake_ms, (int)n_handshakes, 0.99), tls_version, tls_cipher);
        }
        fprintf(out, "}\n");
    } else {
        fprintf(out, "listeners requested %d, connected %d, alive at ramp/end %d/%d, failed %d\n",
                n_listeners, n_connected, alive_at_ramp, alive_at_end, n_failed);
        for (int r = 0; r < R_COUNT; r++)
            if (reasons[r]) fprintf(out, "  failed %-20s %llu\n", reason_name[r], (unsigned long long)reasons[r]);
        for (int i = 0; i < n_http_codes; i++)
            fprintf(out, "  failed http_%-15d %llu\n", http_codes[i].code, (unsigned long long)http_codes[i].n);
        fprintf(out, "stalled %d (> %.0f ms), max receive gap %.1f ms, first byte after the ramp %d\n",
                n_stalled, stall_ms, max_gap, n_late);
        fprintf(out, "ttfb ms p50 %.3f p99 %.3f max %.3f\n", pct(tt, n_tt, 0.50), pct(tt, n_tt, 0.99),
                n_tt ? (double)tt[n_tt - 1] : -1.0);
        fprintf(out, "bytes total %llu, steady %.1f B/listener/s\n", (unsigned long long)bytes_total, bpls);
        fprintf(out, "ramp %.3f s, steady %.3f s\n", t_ramped - t0, steady_s);
        fprintf(out, "below 90 %% of %.0f B/s: %d; rate min %.1f p1 %.1f p50 %.1f B/s\n", expect_bps, n_below_90,
                n_rates ? (double)rates[0] : -1.0, pct(rates, n_rates, 0.01), pct(rates, n_rates, 0.50));
    }
    fflush(out);
    free(tt);
    free(rates);
    /* Sockets are closed by exit; closing 10k sockets explicitly is no faster. */
    return interrupted ? 130 : 0;
}

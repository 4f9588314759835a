/*
 * fanout: a minimal single-threaded epoll MP3 fan-out server, used only to
 * calibrate the benchmark machine (it is the "minimal C epoll fan-out" row of
 * /work/shared/reference/performance.md). Not a product; no auth, one mount.
 *
 * Build:  cc -O2 -o bench/out/fanout bench/fanout.c
 * Run:    bench/out/fanout --icecast-config icecast.xml [--interval-ms 250] [--burst 65536]
 *
 * - Reads <port> and <bind-address> from the config (crude text search; the
 *   bench's own icecast.xml only). Listens with a 4096 backlog.
 * - The first SOURCE/PUT request becomes the source (any credentials):
 *   "HTTP/1.1 100 Continue" (if Expect: 100-continue) then "HTTP/1.0 200 OK".
 * - GET: if a source is live, headers + the last --burst bytes are sent at once;
 *   afterwards every --interval-ms each listener gets everything new in ONE
 *   send (writev when the ring wraps). --interval-ms 0 sends on every source read.
 *   Otherwise 404.
 * - A listener more than the ring size (1 MiB) behind is dropped.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RING (1u << 20)
#define MAXREQ 4096

enum { C_NEW, C_SOURCE, C_LISTENER };

struct conn {
    int fd;
    uint8_t kind;
    uint16_t reqlen;
    char *req;    /* request head while parsing */
    uint64_t pos; /* listener: absolute stream offset of the next byte to send */
};

static unsigned char ring[RING];
static uint64_t head; /* absolute offset of the next byte written */
static int source_fd = -1;
static struct conn **conns; /* by fd */
static int maxfd;
static int epfd;
static int interval_ms = 250;
static int burst = 65536;
static volatile sig_atomic_t stop;

static void on_sig(int s) { (void)s; stop = 1; }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void drop(struct conn *c) {
    if (c->fd == source_fd) source_fd = -1;
    close(c->fd);
    conns[c->fd] = NULL;
    free(c->req);
    free(c);
}

/* Send ring[pos, head) to a listener in one call. Returns -1 if the listener was dropped. */
static int push(struct conn *c, const char *prefix, size_t plen) {
    if (head - c->pos > RING - 65536) { drop(c); return -1; }
    struct iovec iov[3];
    int n = 0;
    if (plen) { iov[n].iov_base = (void *)prefix; iov[n].iov_len = plen; n++; }
    uint64_t len = head - c->pos;
    size_t off = (size_t)(c->pos % RING);
    if (len) {
        size_t first = RING - off < len ? RING - off : (size_t)len;
        iov[n].iov_base = ring + off; iov[n].iov_len = first; n++;
        if (first < len) { iov[n].iov_base = ring; iov[n].iov_len = (size_t)(len - first); n++; }
    }
    if (!n) return 0;
    ssize_t w = n == 1 ? send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL)
                       : writev(c->fd, iov, n);
    if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        drop(c);
        return -1;
    }
    if ((size_t)w > plen) c->pos += (uint64_t)w - plen;
    return 0;
}

static void fan_out(void) {
    for (int fd = 0; fd <= maxfd; fd++) {
        struct conn *c = conns[fd];
        if (c && c->kind == C_LISTENER && c->pos < head) push(c, NULL, 0);
    }
}

static void source_data(const unsigned char *p, size_t n) {
    while (n) {
        size_t off = (size_t)(head % RING);
        size_t k = RING - off < n ? RING - off : n;
        memcpy(ring + off, p, k);
        head += k; p += k; n -= k;
    }
}

static void read_source(struct conn *c) {
    for (;;) {
        size_t off = (size_t)(head % RING);
        ssize_t r = recv(c->fd, ring + off, RING - off, 0);
        if (r > 0) { head += (uint64_t)r; if ((size_t)r < RING - off) break; continue; }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) { drop(c); return; }
        if (errno == EINTR) continue;
        break;
    }
    if (interval_ms == 0) fan_out();
}

static void handle_request(struct conn *c) {
    char *end = memmem(c->req, c->reqlen, "\r\n\r\n", 4);
    size_t headlen = (size_t)(end - c->req) + 4;
    if (!strncmp(c->req, "GET ", 4)) {
        if (source_fd < 0 || head == 0) {
            static const char nf[] = "HTTP/1.0 404 File Not Found\r\nContent-Type: text/plain\r\n\r\nno source\r\n";
            send(c->fd, nf, sizeof nf - 1, MSG_NOSIGNAL);
            drop(c);
            return;
        }
        static const char ok[] = "HTTP/1.0 200 OK\r\nServer: fanout\r\nContent-Type: audio/mpeg\r\n"
                                 "Cache-Control: no-cache, no-store\r\n\r\n";
        free(c->req); c->req = NULL;
        c->kind = C_LISTENER;
        c->pos = head > (uint64_t)burst ? head - (uint64_t)burst : 0;
        push(c, ok, sizeof ok - 1); /* headers + burst at once */
        return;
    }
    if (!strncmp(c->req, "PUT ", 4) || !strncmp(c->req, "SOURCE ", 7)) {
        if (source_fd >= 0) {
            static const char busy[] = "HTTP/1.0 403 Forbidden\r\n\r\nMountpoint in use";
            send(c->fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
            drop(c);
            return;
        }
        if (memmem(c->req, headlen, "100-continue", 12)) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n";
            send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL);
        }
        static const char ok[] = "HTTP/1.0 200 OK\r\n\r\n";
        send(c->fd, ok, sizeof ok - 1, MSG_NOSIGNAL);
        c->kind = C_SOURCE;
        source_fd = c->fd;
        if (c->reqlen > headlen) source_data((unsigned char *)c->req + headlen, c->reqlen - headlen);
        free(c->req); c->req = NULL;
        return;
    }
    drop(c);
}

static void read_new(struct conn *c) {
    ssize_t r = recv(c->fd, c->req + c->reqlen, MAXREQ - c->reqlen, 0);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        drop(c);
        return;
    }
    c->reqlen += (uint16_t)r;
    if (memmem(c->req, c->reqlen, "\r\n\r\n", 4)) handle_request(c);
    else if (c->reqlen >= MAXREQ) drop(c);
}

static void read_listener(struct conn *c) {
    static char sink[4096];
    ssize_t r = recv(c->fd, sink, sizeof sink, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) drop(c);
}

static int config_value(const char *xml, const char *tag, char *out, size_t outlen) {
    char open[64];
    snprintf(open, sizeof open, "<%s>", tag);
    const char *p = strstr(xml, open);
    if (!p) return -1;
    p += strlen(open);
    const char *e = strchr(p, '<');
    if (!e || (size_t)(e - p) >= outlen) return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return 0;
}

int main(int argc, char **argv) {
    const char *cfg = NULL;
    int port = 0;
    char bind_addr[64] = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--icecast-config") && i + 1 < argc) cfg = argv[++i];
        else if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc) interval_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--burst") && i + 1 < argc) burst = atoi(argv[++i]);
        else { fprintf(stderr, "usage: %s --icecast-config F | --port P [--interval-ms 250] [--burst 65536]\n", argv[0]); return 2; }
    }
    if (cfg) {
        FILE *f = fopen(cfg, "r");
        if (!f) { perror(cfg); return 1; }
        static char xml[1 << 16];
        size_t n = fread(xml, 1, sizeof xml - 1, f);
        xml[n] = 0;
        fclose(f);
        char v[64];
        if (!config_value(xml, "port", v, sizeof v)) port = atoi(v);
        config_value(xml, "bind-address", bind_addr, sizeof bind_addr);
    }
    if (port <= 0 || burst < 0 || burst > (int)RING / 2 || interval_ms < 0) { fprintf(stderr, "bad arguments\n"); return 2; }

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    int fdcap = (int)(rl.rlim_cur > 1000000 ? 1000000 : rl.rlim_cur);
    conns = calloc((size_t)fdcap, sizeof *conns);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_sig);
    signal(SIGINT, on_sig);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const char *cc = getenv("FANOUT_CC"); /* e.g. cubic: accepted sockets inherit it */
    if (cc && setsockopt(ls, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc)) < 0) perror("TCP_CONGESTION");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, bind_addr, &a.sin_addr) != 1) { fprintf(stderr, "bad bind-address\n"); return 1; }
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) { perror("bind/listen"); return 1; }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls };
    epoll_ctl(epfd, EPOLL_CTL_ADD, ls, &ev);
    fprintf(stderr, "fanout: listening on %s:%d, interval %d ms, burst %d\n", bind_addr, port, interval_ms, burst);

    enum { BATCH = 1024 };
    static struct epoll_event evs[BATCH];
    double next_tick = now_ms() + interval_ms;
    while (!stop) {
        int timeout = -1;
        if (interval_ms > 0) {
            double t = now_ms();
            if (t >= next_tick) {
                fan_out();
                next_tick += interval_ms;
                if (next_tick < t) next_tick = t + interval_ms;
            }
            timeout = (int)(next_tick - now_ms()) + 1;
            if (timeout < 0) timeout = 0;
        }
        int n = epoll_wait(epfd, evs, BATCH, timeout);
        if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); break; }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                for (;;) {
                    int cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0) break;
                    if (cfd >= fdcap) { close(cfd); continue; }
                    struct conn *c = calloc(1, sizeof *c);
                    c->fd = cfd;
                    c->req = malloc(MAXREQ);
                    conns[cfd] = c;
                    if (cfd > maxfd) maxfd = cfd;
                    struct epoll_event cev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = cfd };
                    epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
                }
                continue;
            }
            struct conn *c = conns[fd];
            if (!c) continue;
            if (c->kind == C_NEW) read_new(c);
            else if (c->kind == C_SOURCE) read_source(c);
            else read_listener(c);
        }
    }
    return 0;
}

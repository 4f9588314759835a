/*
 * floe-hlsload: single-threaded epoll load client that plays HLS like a player, many times over.
 *
 * Build:  cc -O2 -o bench/out/hlsload bench/hlsload.c
 *
 * Each of N players reloads http://HOST:PORT/PLAYLIST every --reload-ms (default: the playlist's target
 * duration) and fetches, in order, every segment it has not fetched yet (joining three segments from the live
 * edge, as players do). Players start at --rate per second; then a steady window of --duration seconds.
 * Connections are HTTP/1.1 and kept open when the server allows it (nginx does; Floe answers each request with
 * Connection: Close, so a player connects again for its next request).
 *
 * Progress lines on stderr for a supervisor: "EVENT ramped <t>" when every player has started, "EVENT done <t>"
 * at the end of the window. One JSON object on stdout: requests, failures, segments and bytes of the window,
 * players that fell behind (a segment fetched more than a target duration after the playlist listed it),
 * and the slowest playlist and segment answers.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUEUE 16
#define URI_MAX 256
#define HEAD_MAX 4096
#define PLAYLIST_MAX 65536

enum state { IDLE, CONNECTING, SENDING, READING_HEAD, READING_BODY };

struct player {
    int fd;
    enum state state;
    int keep_alive;                  /* the connection may carry the next request */
    double due;                      /* IDLE: when the next request starts */
    double next_reload;
    double request_started;
    char queue[MAX_QUEUE][URI_MAX];  /* segment URIs still to fetch, in order */
    int queued;
    char last_fetched[URI_MAX];
    char current[URI_MAX];           /* the request in flight: "" for the playlist */
    char out[512];
    int out_len, out_sent;
    char head[HEAD_MAX];
    int head_len;
    long body_expected;              /* -1: until the server closes */
    long body_read;
    char *playlist;                  /* the body of a playlist answer */
    int status;
    int close_after;
    unsigned char first_byte;
};

static const char *host = "127.0.0.1";
static int port = 8000;
static const char *playlist_path = "/bench.m3u8";
static int players_n = 100;
static double rate = 100, duration = 30, reload_ms = 0;
static struct sockaddr_in address;
static int ep;
static double window_start = -1, window_end = -1;

static struct {
    long playlists, segments, failures, connect_errors, bytes, behind;
    double slowest_playlist, slowest_segment;
} stats;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int in_window(double t) { return window_start >= 0 && t >= window_start && (window_end < 0 || t <= window_end); }

static void fail(struct player *p, double t) {
    if (in_window(t)) stats.failures++;
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    p->state = IDLE;
    p->keep_alive = 0;
    p->queued = 0;
    p->due = t + 0.5;
}

static void start_request(struct player *p, double t) {
    const char *path;
    char full[URI_MAX + 64];
    if (p->queued > 0) {
        strcpy(p->current, p->queue[0]);
        memmove(p->queue[0], p->queue[1], (size_t)(p->queued - 1) * URI_MAX);
        p->queued--;
        /* Relative to the playlist's directory. */
        const char *slash = strrchr(playlist_path, '/');
        snprintf(full, sizeof full, "%.*s%s", (int)(slash - playlist_path + 1), playlist_path, p->current);
        path = full;
    } else {
        p->current[0] = 0;
        path = playlist_path;
    }
    p->out_len = snprintf(p->out, sizeof p->out, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: floe-hlsload\r\n\r\n", path, host);
    p->out_sent = 0;
    p->head_len = 0;
    p->body_read = 0;
    p->request_started = t;
    if (p->fd >= 0 && p->keep_alive) {
        p->state = SENDING;
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = p};
        epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
        return;
    }
    if (p->fd >= 0) close(p->fd);
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (p->fd < 0) { stats.connect_errors++; fail(p, t); return; }
    int one = 1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(p->fd, (struct sockaddr *)&address, sizeof address) < 0 && errno != EINPROGRESS) {
        stats.connect_errors++;
        fail(p, t);
        return;
    }
    p->state = CONNECTING;
    p->keep_alive = 1;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = p};
    epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
}

/* New segment URIs of a playlist: those after the last fetched one, or the last three when it is not listed. */
static void read_playlist(struct player *p, double t) {
    char *lines[1024];
    int count = 0;
    double target = 2;
    for (char *line = strtok(p->playlist, "\n"); line && count < 1024; line = strtok(NULL, "\n")) {
        if (strncmp(line, "#EXT-X-TARGETDURATION:", 22) == 0) target = atof(line + 22);
        if (line[0] && line[0] != '#' && strlen(line) < URI_MAX) lines[count++] = line;
    }
    int from = count > 3 ? count - 3 : 0;
    for (int i = 0; i < count; i++)
        if (strcmp(lines[i], p->last_fetched) == 0) from = i + 1;
    /* A player that finds more than two new segments at a reload (one is usual, two happen by phase) is behind. */
    if (p->last_fetched[0] && count - from > 2 && in_window(t)) stats.behind++;
    for (int i = from; i < count && p->queued < MAX_QUEUE; i++) strcpy(p->queue[p->queued++], lines[i]);
    if (count > 0) strcpy(p->last_fetched, lines[count - 1]);
    double interval = reload_ms > 0 ? reload_ms / 1000 : target;
    p->next_reload = t + interval;
}

static void finish_response(struct player *p, double t) {
    double took = t - p->request_started;
    int ok = p->status == 200;
    if (p->current[0]) {
        ok = ok && p->first_byte == 0x47 && p->body_read % 188 == 0 && p->body_read > 0;
        if (in_window(t)) {
            stats.segments++;
            stats.bytes += p->body_read;
            if (took > stats.slowest_segment) stats.slowest_segment = took;
        }
    } else {
        if (in_window(t)) {
            stats.playlists++;
            if (took > stats.slowest_playlist) stats.slowest_playlist = took;
        }
        if (ok) {
            p->playlist[p->body_read] = 0;
            read_playlist(p, t);
        }
    }
    if (!ok) {
        fail(p, t);
        return;
    }
    if (p->close_after) {
        epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
        close(p->fd);
        p->fd = -1;
        p->keep_alive = 0;
    } else {
        struct epoll_event ev = {.events = 0, .data.ptr = p};
        epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
    }
    p->state = IDLE;
    p->due = p->queued > 0 ? t : p->next_reload;
}

static void parse_head(struct player *p) {
    p->head[p->head_len] = 0;
    p->status = atoi(strchr(p->head, ' ') ? strchr(p->head, ' ') + 1 : "0");
    p->body_expected = -1;
    p->close_after = strncmp(p->head, "HTTP/1.0", 8) == 0;
    for (char *line = strstr(p->head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0) p->body_expected = atol(line + 17);
        if (strncasecmp(line + 2, "Connection: close", 17) == 0) p->close_after = 1;
        if (strncasecmp(line + 2, "Connection: keep-alive", 22) == 0) p->close_after = 0;
    }
    if (p->body_expected < 0) p->close_after = 1;
}

static void on_body(struct player *p, const char *data, long n) {
    if (p->body_read == 0 && n > 0) p->first_byte = (unsigned char)data[0];
    if (!p->current[0] && p->body_read + n < PLAYLIST_MAX) memcpy(p->playlist + p->body_read, data, (size_t)n);
    p->body_read += n;
}

static void on_event(struct player *p, unsigned events, double t) {
    if (p->state == CONNECTING) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error) { stats.connect_errors++; fail(p, t); return; }
        p->state = SENDING;
    }
    if (p->state == SENDING) {
        ssize_t n = send(p->fd, p->out + p->out_sent, (size_t)(p->out_len - p->out_sent), MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) { fail(p, t); return; }
        p->out_sent += (int)n;
        if (p->out_sent < p->out_len) return;
        p->state = READING_HEAD;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
        epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
        return;
    }
    (void)events;
    char buffer[65536];
    for (;;) {
        ssize_t n = recv(p->fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {
            /* Closed: the end of a body without a length, else a failure. */
            if (p->state == READING_BODY && p->body_expected < 0) finish_response(p, t);
            else fail(p, t);
            return;
        }
        long offset = 0;
        if (p->state == READING_HEAD) {
            long take = n < HEAD_MAX - 1 - p->head_len ? n : HEAD_MAX - 1 - p->head_len;
            memcpy(p->head + p->head_len, buffer, (size_t)take);
            p->head_len += (int)take;
            p->head[p->head_len] = 0;
            char *end = strstr(p->head, "\r\n\r\n");
            if (!end) {
                if (p->head_len >= HEAD_MAX - 1) fail(p, t);
                continue;
            }
            int head_bytes = (int)(end - p->head) + 4;
            offset = take - (p->head_len - head_bytes);
            p->head_len = head_bytes;
            parse_head(p);
            p->state = READING_BODY;
        }
        if (n - offset > 0) on_body(p, buffer + offset, n - offset);
        if (p->body_expected >= 0 && p->body_read >= p->body_expected) {
            finish_response(p, t);
            return;
        }
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host")) host = argv[i + 1];
        else if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--path")) playlist_path = argv[i + 1];
        else if (!strcmp(argv[i], "--players")) players_n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rate")) rate = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--duration")) duration = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--reload-ms")) reload_ms = atof(argv[i + 1]);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &address.sin_addr);
    ep = epoll_create1(0);
    struct player *players = calloc((size_t)players_n, sizeof *players);
    for (int i = 0; i < players_n; i++) {
        players[i].fd = -1;
        players[i].playlist = malloc(PLAYLIST_MAX + 1);
    }
    double start = now();
    int started = 0;
    struct epoll_event events[512];
    for (;;) {
        double t = now();
        while (started < players_n && t >= start + started / rate) {
            start_request(&players[started], t);
            started++;
        }
        if (started == players_n && window_start < 0) {
            window_start = t + 2;
            fprintf(stderr, "EVENT ramped %.3f\n", window_start);
        }
        if (window_start >= 0 && t >= window_start + duration) {
            window_end = t;
            fprintf(stderr, "EVENT done %.3f\n", t);
            break;
        }
        for (int i = 0; i < started; i++)
            if (players[i].state == IDLE && t >= players[i].due) start_request(&players[i], t);
        int n = epoll_wait(ep, events, 512, 10);
        t = now();
        for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events, t);
    }
    double window = window_end - window_start;
    printf("{\"players\": %d, \"window_s\": %.2f, \"playlists\": %ld, \"segments\": %ld, \"bytes\": %ld, "
           "\"failures\": %ld, \"connect_errors\": %ld, \"behind\": %ld, \"slowest_playlist_ms\": %.1f, "
           "\"slowest_segment_ms\": %.1f, \"requests_per_s\": %.1f}\n",
           players_n, window, stats.playlists, stats.segments, stats.bytes, stats.failures, stats.connect_errors,
           stats.behind, stats.slowest_playlist * 1000, stats.slowest_segment * 1000,
           (stats.playlists + stats.segments) / window);
    return 0;
}

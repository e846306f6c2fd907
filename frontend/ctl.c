/* ctl: see ctl.h. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "stats.h"
#include "workers.h"

#define CTL_MAX_CLIENTS 8
#define CTL_LINE        256

struct ctl_client {
    int fd;
    size_t len;
    char buf[CTL_LINE];
};

struct fe_ctl {
    int lfd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct ctl_client cl[CTL_MAX_CLIENTS];
};

struct fe_ctl *fe_ctl_open(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct fe_ctl *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (int i = 0; i < CTL_MAX_CLIENTS; i++)
        c->cl[i].fd = -1;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "--ctl: path too long");
        goto fail;
    }
    strcpy(sa.sun_path, path);
    strcpy(c->path, path);
    c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->lfd < 0) {
        snprintf(err, errlen, "--ctl: socket: %s", strerror(errno));
        goto fail;
    }
    unlink(path); /* a stale socket from an earlier run */
    if (bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(c->lfd, 4) < 0) {
        snprintf(err, errlen, "--ctl: cannot listen on %s: %s", path, strerror(errno));
        close(c->lfd);
        goto fail;
    }
    return c;
fail:
    free(c);
    return NULL;
}

static void reply_error(FILE *f, const char *fmt, const char *arg)
{
    fputs("error: ", f);
    fprintf(f, fmt, arg);
    fputc('\n', f);
}

void fe_ctl_command(struct fe_app *app, const char *line, FILE *f)
{
    char verb[16], arg[64], extra[2];
    int n = sscanf(line, "%15s %63s %1s", verb, arg, extra);
    if (n <= 0) {
        reply_error(f, "empty command%s", "");
        return;
    }
    if ((strcmp(verb, "down") == 0 || strcmp(verb, "up") == 0)) {
        char *end;
        bool live = verb[0] == 'u';
        unsigned long k = n == 2 ? strtoul(arg, &end, 10) : 0;
        if (n != 2 || *end != '\0' || k < 1 || k > app->n_workers) {
            fprintf(f, "error: usage: %s K with K in 1..%u\n", verb, app->n_workers);
            return;
        }
        fe_workers_set_live(app, (unsigned)(k - 1), live);
        fprintf(f, "ok worker %lu %s\n", k, live ? "up" : "down");
    } else if (strcmp(verb, "stats") == 0 && n == 1) {
        struct fe_snap s;
        if (fe_stats_collect(app, &s) < 0) {
            reply_error(f, "out of memory%s", "");
            return;
        }
        fe_stats_json(app, &s, "stats", f);
        fe_stats_release(&s);
    } else if (strcmp(verb, "workers") == 0 && n == 1) {
        fe_stats_workers_json(app, f);
    } else if (strcmp(verb, "start") == 0 && n == 1) {
        bool was = __atomic_exchange_n(&app->started, 1, __ATOMIC_ACQ_REL);
        fputs(was ? "ok already started\n" : "ok starting\n", f);
    } else if (strcmp(verb, "stop") == 0 && n == 1) {
        __atomic_store_n(&app->stop, 1, __ATOMIC_RELEASE);
        fputs("ok stopping\n", f);
    } else {
        reply_error(f, "unknown command '%s' (down K, up K, stats, workers, start, stop)", line);
    }
}

static void drop_client(struct ctl_client *cl)
{
    close(cl->fd);
    cl->fd = -1;
    cl->len = 0;
}

/* Writes the whole reply; a client that does not read is dropped. */
static void send_all(struct ctl_client *cl, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = send(cl->fd, buf, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = cl->fd, .events = POLLOUT};
            if (poll(&p, 1, 1000) > 0)
                continue;
        }
        if (w <= 0) {
            drop_client(cl);
            return;
        }
        buf += w;
        len -= (size_t)w;
    }
}

static void handle_line(struct fe_app *app, struct ctl_client *cl, const char *line)
{
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    if (f == NULL)
        return;
    fe_ctl_command(app, line, f);
    fclose(f);
    send_all(cl, out, outlen);
    free(out);
}

static void read_client(struct fe_app *app, struct ctl_client *cl)
{
    ssize_t r = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        drop_client(cl);
        return;
    }
    cl->len += (size_t)r;
    char *nl;
    while (cl->fd >= 0 && (nl = memchr(cl->buf, '\n', cl->len)) != NULL) {
        *nl = '\0';
        if (nl > cl->buf && nl[-1] == '\r')
            nl[-1] = '\0';
        handle_line(app, cl, cl->buf);
        if (cl->fd < 0)
            return;
        size_t used = (size_t)(nl - cl->buf) + 1;
        memmove(cl->buf, nl + 1, cl->len - used);
        cl->len -= used;
    }
    if (cl->fd >= 0 && cl->len >= sizeof(cl->buf) - 1) {
        send_all(cl, "error: line too long\n", 21);
        if (cl->fd >= 0)
            drop_client(cl);
    }
}

static void accept_clients(struct fe_ctl *c)
{
    int fd;
    while ((fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        int i = 0;
        while (i < CTL_MAX_CLIENTS && c->cl[i].fd >= 0)
            i++;
        if (i == CTL_MAX_CLIENTS) {
            static const char busy[] = "error: too many control connections\n";
            if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0) {
                /* nothing more to tell a client we cannot reach */
            }
            close(fd);
            continue;
        }
        c->cl[i].fd = fd;
        c->cl[i].len = 0;
    }
}

void fe_ctl_poll(struct fe_ctl *c, struct fe_app *app, int timeout_ms)
{
    struct pollfd p[1 + CTL_MAX_CLIENTS];
    int map[1 + CTL_MAX_CLIENTS];
    nfds_t n = 0;
    if (c == NULL) {
        poll(NULL, 0, timeout_ms);
        return;
    }
    p[n].fd = c->lfd;
    p[n].events = POLLIN;
    map[n++] = -1;
    for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
        if (c->cl[i].fd < 0)
            continue;
        p[n].fd = c->cl[i].fd;
        p[n].events = POLLIN;
        map[n++] = i;
    }
    if (poll(p, n, timeout_ms) <= 0)
        return;
    for (nfds_t k = 1; k < n; k++)
        if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
            read_client(app, &c->cl[map[k]]);
    if (p[0].revents & POLLIN)
        accept_clients(c);
}

void fe_ctl_close(struct fe_ctl *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < CTL_MAX_CLIENTS; i++)
        if (c->cl[i].fd >= 0)
            close(c->cl[i].fd);
    close(c->lfd);
    unlink(c->path);
    free(c);
}

/*
 * bench-bare-evhtp: the least a libevhtp server can do per request, as the yardstick for
 * xend's GET /xend/domain/D (bench/README.md). One thread, like xend; every GET gets the
 * same body (a copy of a real domain info reply, from a file) as text/plain. Listens on
 * 127.0.0.1 only; runs until killed.
 *
 *   bench-bare-evhtp PORT BODY-FILE [nodelay]
 *
 * With `nodelay`, accepted sockets get TCP_NODELAY (EVHTP_FLAG_ENABLE_NODELAY): without it,
 * a reply written in more than one segment waits for the client's delayed ACK (~40 ms) on
 * a keep-alive connection, which is what the list latency of bench/README.md ran into.
 */
#include <evhtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *body;
static size_t body_len;

static void reply(evhtp_request_t *req, void *arg)
{
    (void)arg;
    evhtp_headers_add_header(req->headers_out,
                             evhtp_header_new("Content-Type", "text/plain", 0, 0));
    evbuffer_add(req->buffer_out, body, body_len);
    evhtp_send_reply(req, EVHTP_RES_OK);
}

int main(int argc, char **argv)
{
    if (argc != 3 && !(argc == 4 && strcmp(argv[3], "nodelay") == 0)) {
        fprintf(stderr, "usage: bench-bare-evhtp PORT BODY-FILE [nodelay]\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (f == NULL) {
        perror(argv[2]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    body_len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    body = malloc(body_len + 1);
    if (body == NULL || fread(body, 1, body_len, f) != body_len) {
        perror("read body");
        return 2;
    }
    fclose(f);
    struct event_base *base = event_base_new();
    evhtp_t *htp = evhtp_new(base, NULL);
    evhtp_set_gencb(htp, reply, NULL);
    if (argc == 4)
        evhtp_enable_flag(htp, EVHTP_FLAG_ENABLE_NODELAY);
    if (evhtp_bind_socket(htp, "ipv4:127.0.0.1", (uint16_t)atoi(argv[1]), 1024) < 0) {
        perror("bind");
        return 1;
    }
    event_base_loop(base, 0);
    return 0;
}

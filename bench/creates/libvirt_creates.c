/*
 * The anchor durable creates are compared with (bench/creates/run.sh): domains created per
 * second through libvirtd's test driver (in memory, not durable), CLIENTS connections at
 * once, each creating one domain at a time for SECONDS. Compiled by run.sh against
 * Debian's libvirt-dev, which the rest of the tree does not need.
 *
 *   libvirt-creates URI CLIENTS SECONDS
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *uri;
static double deadline;
static atomic_long created, failed;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void quiet(void *arg, virErrorPtr e)
{
    (void)arg;
    (void)e;
}

static void *client(void *arg)
{
    long id = (long)arg;
    virConnectPtr c = virConnectOpen(uri);
    if (c == NULL) {
        atomic_fetch_add(&failed, 1);
        return NULL;
    }
    char xml[256];
    for (long i = 0; now() < deadline; i++) {
        snprintf(xml, sizeof(xml),
                 "<domain type='test'><name>b%03ld-%07ld</name><memory>8192</memory>"
                 "<os><type>hvm</type></os></domain>",
                 id, i);
        virDomainPtr d = virDomainCreateXML(c, xml, 0);
        if (d == NULL) {
            atomic_fetch_add(&failed, 1);
            continue;
        }
        virDomainFree(d);
        atomic_fetch_add(&created, 1);
    }
    virConnectClose(c);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: libvirt-creates URI CLIENTS SECONDS\n");
        return 2;
    }
    uri = argv[1];
    long clients = atol(argv[2]);
    double secs = atof(argv[3]);
    virSetErrorFunc(NULL, quiet);
    pthread_t *t = calloc((size_t)clients, sizeof(*t));
    double t0 = now();
    deadline = t0 + secs;
    for (long i = 0; i < clients; i++)
        pthread_create(&t[i], NULL, client, (void *)i);
    for (long i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    double el = now() - t0;
    printf("libvirtd clients=%ld created=%ld failed=%ld seconds=%.2f rate=%.0f/s\n", clients,
           atomic_load(&created), atomic_load(&failed), el, (double)atomic_load(&created) / el);
    free(t);
    return atomic_load(&failed) > 0 && atomic_load(&created) == 0;
}

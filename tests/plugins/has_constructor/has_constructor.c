/*
 * Test plugin `has_constructor`: breaks the no-constructor rule on purpose. Its
 * constructor creates the file named by $XEND_TEST_CTOR_MARK, so a test can tell whether
 * xend let dlopen run it: a plugin refused by the trust check (a world-writable directory)
 * must never get that far.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <xend/host.h>
#include <xend/plugin.h>

__attribute__((constructor)) static void has_constructor_ran(void)
{
    const char *mark = getenv("XEND_TEST_CTOR_MARK");
    if (mark == NULL)
        return;
    int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
}

static int has_constructor_init(struct xend_plugin *self, const struct xend_host *host)
{
    (void)self;
    (void)host;
    return 0;
}

XEND_PLUGIN(.name = "has_constructor", .version = "1.0",
            .description = "test plugin: runs code from a constructor",
            .init = has_constructor_init);

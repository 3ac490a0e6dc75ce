/*
 * The plugin loader: dlopen each plugin, check its descriptor before any of its code runs
 * (magic, ABI major, minor, size, unique name), then call init with the host table. A
 * refused or failing plugin is logged with its file and reason and skipped; the daemon keeps
 * running. Successful plugins stay loaded for the life of the process.
 */
#ifndef XEND_CORE_LOADER_H
#define XEND_CORE_LOADER_H

#include <stddef.h>

#include <xend/host.h>

/*
 * Load plugins from dir: the names in `only` (file names with or without ".so", in that
 * order) or, when n_only is 0, every *.so sorted by name. Returns the number loaded.
 */
size_t xend_loader_load_dir(const char *dir, const char *const *only, size_t n_only,
                            const struct xend_host *host);
/* Load one file; 0, or a negative code with err saying why (also logged). */
int xend_loader_load_file(const char *path, const struct xend_host *host, struct xend_err *err);
/* Call every loaded plugin's fini in reverse load order and drop its registrations. */
void xend_loader_fini_all(void);
/*
 * After xend_hv_open: stop (fini) and dlclose every plugin that registered backends none
 * of which is the one open; /xend/node/plugins shows it as unloaded. Returns how many.
 */
size_t xend_loader_unload_unused_backends(void);
/* (plugins (plugin (name N) (file F) (version V) (abi 1.0) (status loaded|refused)
 * (reason R)?) ...): owned. */
struct xend_sxp *xend_loader_describe(void);
/* Free the records of refused plugins and everything else at exit. */
void xend_loader_free(void);

#endif

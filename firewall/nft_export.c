/* firewall: exporting a VM's nftables objects from the kernel. */
#include "firewall/firewall.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/set.h>

#include "openvswitch/shash.h"
#include "util.h"

#include "firewall/firewall-private.h"

/* How often a dump that raced a ruleset change is retried. */
#define DUMP_ATTEMPTS 10

/* Dumps the elements of every set of 'rs': only the sets some VM of the
 * batch selected are read, never the host's. */
static int
load_elements(struct mnl_socket *nl, struct fw_ruleset *rs, char *err,
              size_t errlen)
{
    struct fw_table *t;

    LIST_FOR_EACH (t, node, &rs->tables) {
        struct fw_set *s;

        LIST_FOR_EACH (s, node, &t->sets) {
            int error = fw_dump_set_elements(nl, s->s);

            if (error) {
                if (error != -EINTR) {
                    snprintf(err, errlen, "dumping the elements of set %s: "
                             "%s", nftnl_set_get_str(s->s, NFTNL_SET_NAME),
                             ovs_strerror(-error));
                }
                return error;
            }
        }
    }
    return 0;
}

static void
destroy_all(struct fw_ruleset **rss, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fw_ruleset_destroy(rss[i]);
        rss[i] = NULL;
    }
}

/* One attempt: a dump of the objects of every family, the VMs' picked out
 * of it, the elements of their sets.  Into 'rss' (the valid names of 'vms',
 * 'valid') and '*gen_before', '*gen_after'. */
static int
export_once(struct mnl_socket *nl, const char *const *vms, size_t n,
            struct fw_ruleset **rss, uint32_t *gen_before,
            uint32_t *gen_after, char *err, size_t errlen)
{
    struct fw_dump dump;
    int error;

    fw_dump_init(&dump);
    error = nft_get_genid(nl, gen_before);
    if (!error) {
        error = fw_dump_load(nl, &dump, err, errlen);
    }
    if (!error) {
        fw_select_many(&dump, vms, n, false, rss);
        for (size_t i = 0; i < n && !error; i++) {
            error = load_elements(nl, rss[i], err, errlen);
        }
    }
    if (!error) {
        error = nft_get_genid(nl, gen_after);
    }
    if (error && errlen && !err[0]) {
        snprintf(err, errlen, "reading the nf_tables generation: %s",
                 ovs_strerror(-error));
    }
    fw_dump_free(&dump);
    return error;
}

int
fw_export_many(const char *const *vms, size_t n, struct fw_ruleset **rss,
               char *err, size_t errlen)
{
    const char **valid = xcalloc(n + 1, sizeof *valid);
    struct fw_ruleset **got = xcalloc(n + 1, sizeof *got);
    size_t *at = xcalloc(n + 1, sizeof *at);
    struct shash seen = SHASH_INITIALIZER(&seen);
    struct mnl_socket *nl;
    size_t n_valid = 0;
    int error = 0;

    if (errlen) {
        err[0] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        rss[i] = NULL;
        if (!fw_vm_name_valid(vms[i])) {
            continue;           /* Its own failure: NULL. */
        }
        if (!shash_add_once(&seen, vms[i], NULL)) {
            error = doc_error(err, errlen, "VM: \"%s\" named twice in one "
                              "export", vms[i]);
            goto out;
        }
        valid[n_valid] = vms[i];
        at[n_valid++] = i;
    }
    error = nl_open(NETLINK_NETFILTER, &nl);
    if (error) {
        snprintf(err, errlen, "opening netlink: %s", ovs_strerror(-error));
        goto out;
    }
    nl_set_buffers(nl, 4 << 20);
    for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
        uint32_t gen_before = 0, gen_after = 1;

        error = export_once(nl, valid, n_valid, got, &gen_before, &gen_after,
                            err, errlen);
        if (!error && gen_before == gen_after) {
            for (size_t k = 0; k < n_valid; k++) {
                rss[at[k]] = got[k];
            }
            break;
        }
        destroy_all(got, n_valid);
        if (error && error != -EINTR) {
            break;
        }
        /* The ruleset changed under the dump: again. */
        error = -EAGAIN;
        snprintf(err, errlen, "the ruleset kept changing during %d dumps",
                 DUMP_ATTEMPTS);
    }
    mnl_socket_close(nl);
out:
    shash_destroy(&seen);
    free(valid);
    free(got);
    free(at);
    return error;
}

int
fw_export(const char *vm, struct fw_ruleset **rsp, char *err, size_t errlen)
{
    *rsp = NULL;
    if (errlen) {
        err[0] = '\0';
    }
    if (!fw_vm_name_valid(vm)) {
        return doc_error(err, errlen, "VM: invalid name \"%s\"", vm);
    }
    return fw_export_many(&vm, 1, rsp, err, errlen);
}

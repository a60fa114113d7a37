/* firewall: exporting a VM's nftables objects from the kernel. */
#include "firewall/firewall.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/set.h>

#include "util.h"

#include "firewall/firewall-private.h"

/* How often a dump that raced a ruleset change is retried. */
#define DUMP_ATTEMPTS 10

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

int
fw_export(const char *vm, struct fw_ruleset **rsp, char *err, size_t errlen)
{
    struct mnl_socket *nl;
    int error;

    *rsp = NULL;
    if (errlen) {
        err[0] = '\0';
    }
    if (!fw_vm_name_valid(vm)) {
        return doc_error(err, errlen, "VM: invalid name \"%s\"", vm);
    }
    error = nl_open(NETLINK_NETFILTER, &nl);
    if (error) {
        snprintf(err, errlen, "opening netlink: %s", ovs_strerror(-error));
        return error;
    }
    nl_set_buffers(nl, 4 << 20);
    for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
        uint32_t gen_before = 0, gen_after = 1;
        struct fw_ruleset *rs = NULL;
        struct fw_dump dump;

        fw_dump_init(&dump);
        error = nft_get_genid(nl, &gen_before);
        if (!error) {
            error = fw_dump_load(nl, &dump, err, errlen);
        }
        if (!error) {
            rs = fw_select(&dump, vm, false);
            error = load_elements(nl, rs, err, errlen);
        }
        if (!error) {
            error = nft_get_genid(nl, &gen_after);
        }
        if (error && errlen && !err[0]) {
            snprintf(err, errlen, "reading the nf_tables generation: %s",
                     ovs_strerror(-error));
        }
        fw_dump_free(&dump);
        if (!error && gen_before == gen_after) {
            *rsp = rs;
            break;
        }
        fw_ruleset_destroy(rs);
        if (error && error != -EINTR) {
            break;
        }
        /* The ruleset changed under the dump: again. */
        error = -EAGAIN;
        snprintf(err, errlen, "the ruleset kept changing during %d dumps",
                 DUMP_ATTEMPTS);
    }
    mnl_socket_close(nl);
    return error;
}

/* The address learner: the learned-address table fed by a capture of the
 * ARP and ND frames coming in on every interface, for netmoved's poll
 * loop. */
#include "netmove/addr/addrlearn.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

#include "garp/garp.h"

struct nm_addrlearn {
    struct nm_addrtab *tab;
    struct garp_claim_capture *cap;
    unsigned int max_per_run;
    nm_addrlearn_observer *observer;
    void *observer_aux;
    uint64_t now;               /* During a run. */
    uint64_t verdicts[NM_ADDRTAB_N_VERDICTS];
};

int
nm_addrlearn_create(const struct nm_addrlearn_params *p,
                    struct nm_addrlearn **learnp, char *err, size_t errlen)
{
    struct nm_addrlearn *learn = xzalloc(sizeof *learn);
    int error;

    *learnp = NULL;
    error = nm_addrtab_create(p ? &p->table : NULL, &learn->tab, err,
                              errlen);
    if (error) {
        goto out_free;
    }
    error = garp_claim_capture_open(p ? p->dev : NULL, err, errlen,
                                    &learn->cap);
    if (error) {
        goto out_destroy_tab;
    }
    if (!garp_claim_capture_knows_ifindex(learn->cap)) {
        /* A frame's Ethernet source alone proves nothing: any VM can send
         * another's MAC, and the capture sees it before OVS's port
         * security drops it.  Only the interface it came in on ties a
         * claim to a VM. */
        snprintf(err, errlen, "capture: this libpcap gives no interface "
                 "index on 'any' (DLT_LINUX_SLL2 needs libpcap 1.10): "
                 "learned addresses could not be tied to a VM's "
                 "interface");
        error = -EOPNOTSUPP;
        goto out_close;
    }
    learn->max_per_run = p && p->max_per_run ? p->max_per_run : 64;
    learn->observer = p ? p->observer : NULL;
    learn->observer_aux = p ? p->observer_aux : NULL;
    *learnp = learn;
    return 0;

out_close:
    garp_claim_capture_close(learn->cap);
out_destroy_tab:
    nm_addrtab_destroy(learn->tab);
out_free:
    free(learn);
    return error;
}

void
nm_addrlearn_destroy(struct nm_addrlearn *learn)
{
    if (learn) {
        garp_claim_capture_close(learn->cap);
        nm_addrtab_destroy(learn->tab);
        free(learn);
    }
}

struct nm_addrtab *
nm_addrlearn_table(struct nm_addrlearn *learn)
{
    return learn->tab;
}

static void
claim_cb(void *learn_, const struct garp_claim_rx *rx)
{
    struct nm_addrlearn *learn = learn_;
    char name[IF_NAMESIZE];
    enum nm_addrtab_verdict v;

    /* The interface may be gone already: then it is no VM's any more. */
    if (rx->ifindex > 0 && if_indextoname(rx->ifindex, name)) {
        v = nm_addrtab_claim(learn->tab, name, &rx->claim, learn->now);
    } else {
        name[0] = '\0';
        v = NM_ADDRTAB_UNKNOWN_IFACE;
    }
    if (learn->observer) {
        learn->observer(learn->observer_aux, name, &rx->claim, v);
    }
    learn->verdicts[v]++;
}

int
nm_addrlearn_run(struct nm_addrlearn *learn, uint64_t now_us)
{
    int n;

    learn->now = now_us;
    n = garp_claim_capture_run(learn->cap, learn->max_per_run, claim_cb,
                               learn);
    nm_addrtab_expire(learn->tab, now_us);
    return n < 0 ? n : 0;
}

void
nm_addrlearn_wait(const struct nm_addrlearn *learn)
{
    garp_claim_capture_wait(learn->cap);
}

const struct garp_claim_stats *
nm_addrlearn_capture_stats(const struct nm_addrlearn *learn)
{
    return garp_claim_capture_stats(learn->cap);
}

const uint64_t *
nm_addrlearn_verdicts(const struct nm_addrlearn *learn)
{
    return learn->verdicts;
}

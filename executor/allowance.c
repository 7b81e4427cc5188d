/* allowance.c -- Credit and Demand on the links, see allowance.h: owns
 * nothing of its own, it works on each queue's credit_peer array (one per
 * link) and each link's credit fields. */
#include "allowance.h"

#include <stdio.h>
#include <string.h>

#include "outgoing.h"

int allowance_link_active(const exec_link *l)
{
    return l->credit && l->state == LINK_REGISTERED;
}

void allowance_send(executor *x, exec_link *l)
{
    size_t n = x->cfg->nqueues;
    Offload__QueueCredit qc[CODEC_QUEUES_MAX], *qp[CODEC_QUEUES_MAX];
    char text[256];
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        credit_peer *p = &x->queues[i].peers[l->index];
        offload__queue_credit__init(&qc[i]);
        qc[i].name = (char *)x->cfg->queues[i].name;
        qc[i].slots = p->allow;
        qp[i] = &qc[i];
        if (len < sizeof(text))
            len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s:%u/%u", i ? "," : "",
                                    qc[i].name, p->allow, p->inflight);
    }
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Credit c = OFFLOAD__CREDIT__INIT;
    c.n_queues = n;
    c.queues = qp;
    c.seq = l->credit_seq + 1;
    env.body_case = OFFLOAD__ENVELOPE__BODY_CREDIT;
    env.credit = &c;
    if (outgoing_send(x, l, &env) < 0) {
        l->credit_unsent = 1; /* the ceilings stay: nothing was promised */
        return;
    }
    l->credit_seq = c.seq;
    l->credit_unsent = 0;
    x->stats.credits_sent++;
    for (size_t i = 0; i < n; i++)
        x->queues[i].peers[l->index].changed = 0;
    log_debug("event=credit gateway=%s seq=%llu slots=%s", l->endpoint, (unsigned long long)c.seq,
              text);
}

void allowance_balance(executor *x, exec_queue *only)
{
    size_t n = x->cfg->nconnect;
    int changed = 0;
    if (x->draining)
        return;
    for (size_t i = 0; i < x->cfg->nqueues; i++) {
        exec_queue *q = &x->queues[i];
        if ((!only || q == only) && credit_balance(pool_size(q->pool), q->orphans, q->peers, n))
            changed = 1;
    }
    if (!changed)
        return;
    for (size_t k = 0; k < x->nlinks; k++) {
        exec_link *l = x->links[k];
        int send = 0;
        for (size_t i = 0; i < x->cfg->nqueues && !send; i++)
            send = x->queues[i].peers[k].changed;
        if (send && allowance_link_active(l))
            allowance_send(x, l);
    }
}

int allowance_on_demand(executor *x, exec_link *l, const Offload__Demand *d)
{
    int first_ack = 0;
    if (!l->credit) {
        /* Only a gateway that said credit sends Demand. */
        x->stats.frames_unexpected++;
        return 0;
    }
    x->stats.demands++;
    for (size_t i = 0; i < d->n_queues; i++) {
        exec_queue *q = NULL;
        for (size_t j = 0; j < x->cfg->nqueues && !q; j++)
            if (!strcmp(x->cfg->queues[j].name, d->queues[i]->name))
                q = &x->queues[j];
        if (q)
            q->peers[l->index].demand = d->queues[i]->waiting;
    }
    if (d->credit_seq && d->credit_seq == l->credit_seq && !l->credit_unsent) {
        for (size_t i = 0; i < x->cfg->nqueues; i++)
            credit_ack(&x->queues[i].peers[l->index]);
        if (!l->credit_acked) {
            l->credit_acked = 1;
            first_ack = 1;
        }
    }
    allowance_balance(x, NULL);
    return first_ack;
}

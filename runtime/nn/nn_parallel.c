/* nn_parallel.c — the second core for the network's own loops.
 *
 * One helper thread, started on first use, takes half of a job while the calling thread
 * does the other half: the convolution products (split by columns or rows), im2col and
 * col2im, pooling and ReLU (split by images). It sleeps on a condition variable between
 * jobs instead of spinning, which matters on a shared machine. The kernel forks a cell
 * process per cell, and threads do not survive fork(): the pool remembers the pid that
 * started it and a forked child starts its own helper on first use. Jobs below a size
 * threshold run on the calling thread alone. */
#include "nn_internal.h"

#include <pthread.h>
#include <unistd.h>

typedef struct pool {
    pid_t pid;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    nn_job_fn fn;
    void *ctx;
    unsigned long posted, finished;
    int failed;
} pool;

static pool the_pool;
static int disabled;

void nn_parallel_enable(int on) { disabled = !on; }

static void *helper(void *arg)
{
    pool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->posted == seen)
            pthread_cond_wait(&p->go, &p->lock);
        seen = p->posted;
        nn_job_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->lock);
        fn(ctx, 1, 2);
        pthread_mutex_lock(&p->lock);
        p->finished = seen;
        pthread_cond_signal(&p->done);
    }
    return NULL;
}

static int pool_ready(void)
{
    pool *p = &the_pool;
    pid_t me = getpid();
    if (p->pid == me)
        return !p->failed;
    /* first use in this process (or in a forked child): fresh objects, a new helper */
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->posted = p->finished = 0;
    p->pid = me;
    p->failed = sysconf(_SC_NPROCESSORS_ONLN) < 2 || pthread_create(&p->thread, NULL, helper, p) != 0;
    if (!p->failed)
        pthread_detach(p->thread);
    return !p->failed;
}

void nn_parallel(nn_job_fn fn, void *ctx, size_t work)
{
    if (work < 32768 || disabled || !pool_ready()) {
        fn(ctx, 0, 1);
        return;
    }
    pool *p = &the_pool;
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    unsigned long ticket = ++p->posted;
    pthread_cond_signal(&p->go);
    pthread_mutex_unlock(&p->lock);
    fn(ctx, 0, 2);
    pthread_mutex_lock(&p->lock);
    while (p->finished != ticket)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

/* track_autolog.h — hooks the runtime's own training loops call so that a fit logs to the
 * active run by itself, as MLflow's autologging does (internal to libcairn: runtime/cluster
 * and runtime/nn include it as "../track/track_autolog.h"; cells turn it off with
 * track_autolog(0) from cairn/track.h). Each hook does nothing when no run is active. */
#ifndef CAIRN_TRACK_AUTOLOG_H
#define CAIRN_TRACK_AUTOLOG_H

#include <stdint.h>

#include "cairn/cluster.h"
#include "cairn/nn.h"

/** k-means after its fit: params kmeans.* and metric kmeans.inertia per iteration of the best run. */
void track_autolog_kmeans(const kmeans_result *km, int k, const kmeans_options *o, int n_init, int max_iter);

/** nn_fit before its first epoch: params nn.* (epochs, batch size, optimizer, learning rate, ...). */
void track_autolog_nn_start(const nn_model *m, const nn_fit_options *o, int train_rows, int val_rows);

/** nn_fit after each epoch: metrics nn.train_loss, nn.train_acc, nn.val_loss, nn.val_acc, nn.lr at step = epoch. */
void track_autolog_nn_epoch(const nn_history *h, int epoch);

#endif

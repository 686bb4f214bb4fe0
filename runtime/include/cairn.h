/* cairn.h — everything a notebook cell sees of the runtime.
 *
 * Every cell is compiled by libtcc with this header in its prelude, so it must stay
 * parseable by tcc: no <complex.h>, hence no cblas.h or lapacke.h here — the runtime
 * wraps BLAS and LAPACK behind its own functions. */
#ifndef CAIRN_H
#define CAIRN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "cairn/error.h"
#include "cairn/alloc.h"
#include "cairn/mat.h"
#include "cairn/mat_ops.h"
#include "cairn/random.h"
#include "cairn/display.h"
#include "cairn/plot.h"
#include "cairn/progress.h"
#include "cairn/show.h"
#include "cairn/linalg.h"
#include "cairn/cluster.h"
#include "cairn/io.h"
#include "cairn/volume.h"
#include "cairn/nn.h"
#include "cairn/dmat.h"
#include "cairn/track.h"
#include "cairn/onnx.h"

#endif

/* cairn/volume.h — synthetic 3-D volumes for teaching, such as a CT-like phantom.
 *
 * A volume is a matrix with one flattened slice per row and the image shape
 * (1, height, width) set — the same layout as a stack of images — so slice-wise
 * operations (SVD denoising, PCA, plotting a slice) need nothing new. */
#ifndef CAIRN_VOLUME_H
#define CAIRN_VOLUME_H

#include <stdint.h>
#include "cairn/mat.h"

/** 3-D modified Shepp–Logan head phantom, n_slices x (height*width), plus Gaussian noise of noise_sigma (seeded). */
mat volume_shepp_logan(int n_slices, int height, int width, double noise_sigma, uint64_t seed);

#endif

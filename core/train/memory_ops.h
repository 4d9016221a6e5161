#pragma once
/// The episodic memory as differentiable tensor operations, for training. At use time the
/// Eigen engine (core/memory) does the same thing fact by fact; these must agree with it
/// (tested in tests/core/test_train.cpp).
#include <torch/types.h>

namespace larimar {

/// One-shot write of episodes and read with exact pseudo-inverses, in closed form.
/// zWrite [B, N, C] (N <= K facts per episode), zQuery [B, Q, C] -> readout [B, Q, C].
/// With exact pseudo-inverses and independent keys, W0 = Z M0^+, M = W0^+ Z and a read
/// w = zq M^+, readout = w M is the projection of zq onto the span of the written encodings:
///     readout = alpha Z,  alpha = zq Z^T (Z Z^T + ridge I)^-1,
/// independent of M0; computing it this way costs an N x N solve instead of K x C pseudo-
/// inverses and has stable gradients. ridge is relative to the mean squared norm of the
/// episode's encodings (the editor's memory uses the same kind of relative regulariser).
/// weightNoise > 0 adds N(0, weightNoise^2) to alpha (the paper samples W around its mean).
/// mask [B, N] (optional, bool): which written rows are real (episodes may be padded).
torch::Tensor projectionReadout(const torch::Tensor& zWrite, const torch::Tensor& zQuery, double ridge = 1e-3,
                                double weightNoise = 0.0, const torch::Tensor& mask = {});

/// The public code's form with the Ben-Israel-Cohen iteration (X <- 2X - X A X, X0 = alpha A^T):
/// W0 = Z M0^+, M = W0^+ Z, w = zq M^+, readout = w M. prior M0 [K, C].
torch::Tensor iterativeReadout(const torch::Tensor& zWrite, const torch::Tensor& zQuery, const torch::Tensor& prior,
                               double alpha = 5e-4, int steps = 15, double weightNoise = 0.0);

/// Batched iterative pseudo-inverse of a [..., R, S] tensor -> [..., S, R].
torch::Tensor iterativePinv(const torch::Tensor& a, double alpha, int steps);

} // namespace larimar

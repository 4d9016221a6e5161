#include "core/train/memory_ops.h"

#include "core/util/error.h"

#include <torch/torch.h>

namespace larimar {

torch::Tensor projectionReadout(const torch::Tensor& zWrite, const torch::Tensor& zQuery, double ridge,
                                double weightNoise, const torch::Tensor& mask) {
    if (zWrite.dim() != 3 || zQuery.dim() != 3 || zWrite.size(0) != zQuery.size(0) || zWrite.size(2) != zQuery.size(2))
        throw Error("projectionReadout: expected zWrite [B, N, C] and zQuery [B, Q, C]");
    torch::Tensor z = zWrite;
    if (mask.defined()) z = z * mask.unsqueeze(-1).to(z.dtype());
    const int64_t n = z.size(1);
    torch::Tensor gram = torch::matmul(z, z.transpose(1, 2)); // [B, N, N]
    // Relative ridge: scale by the mean squared norm of the real rows.
    torch::Tensor diag = gram.diagonal(0, 1, 2);
    torch::Tensor rows = mask.defined() ? mask.to(z.dtype()).sum(1).clamp_min(1.0) : torch::full({z.size(0)}, double(n), z.options());
    torch::Tensor scale = (diag.sum(1) / rows).clamp_min(1e-12).detach(); // [B]
    torch::Tensor eye = torch::eye(n, z.options()).unsqueeze(0);
    torch::Tensor reg = gram + ridge * scale.view({-1, 1, 1}) * eye;
    if (mask.defined()) {
        // Padded rows: make their diagonal 1 so the system stays invertible; their alpha is 0
        // because their column of zq Z^T is 0.
        torch::Tensor pad = (~mask.to(torch::kBool)).to(z.dtype());
        reg = reg + torch::diag_embed(pad);
    }
    torch::Tensor cross = torch::matmul(zQuery, z.transpose(1, 2));                        // [B, Q, N]
    torch::Tensor alpha = torch::linalg_solve(reg, cross.transpose(1, 2)).transpose(1, 2); // [B, Q, N]
    if (weightNoise > 0.0) alpha = alpha + weightNoise * torch::randn_like(alpha);
    return torch::matmul(alpha, z);
}

torch::Tensor iterativePinv(const torch::Tensor& a, double alpha, int steps) {
    torch::Tensor x = alpha * a.transpose(-2, -1);
    for (int i = 0; i < steps; ++i) x = 2 * x - torch::matmul(x, torch::matmul(a, x));
    return x;
}

torch::Tensor iterativeReadout(const torch::Tensor& zWrite, const torch::Tensor& zQuery, const torch::Tensor& prior,
                               double alpha, int steps, double weightNoise) {
    torch::Tensor w0 = torch::matmul(zWrite, iterativePinv(prior, alpha, steps)); // [B, N, K]
    torch::Tensor mem = torch::matmul(iterativePinv(w0, alpha, steps), zWrite);    // [B, K, C]
    torch::Tensor w = torch::matmul(zQuery, iterativePinv(mem, alpha, steps));      // [B, Q, K]
    if (weightNoise > 0.0) w = w + weightNoise * torch::randn_like(w);
    return torch::matmul(w, mem);
}

} // namespace larimar

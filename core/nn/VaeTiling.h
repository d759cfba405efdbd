#pragma once

#include <cstdint>

namespace tp::nn {

// Tiled VAE decode/encode, as diffusers' AutoencoderKL.enable_tiling(): the input is cut into
// overlapping tiles that go through the VAE one at a time (peak memory of one tile instead of the
// whole image), and each tile's first rows/columns fade in linearly from its neighbour above and
// to the left. The result differs from the one-pass decode near the seams. Torch-free.
struct VaeTiling {
    // The tile edge in image pixels (a multiple of the VAE's downscale factor). 0: diffusers'
    // choice, the VAE config's sample_size, or 512 px when that is missing or under 256 px.
    int64_t sampleTileSize = 0;
    // diffusers' tile_overlap_factor: the share of a tile its neighbour covers again (0 <= x < 1).
    double overlap = 0.25;

    bool operator==(const VaeTiling& o) const {
        return sampleTileSize == o.sampleTileSize && overlap == o.overlap;
    }
    bool operator!=(const VaeTiling& o) const { return !(*this == o); }
};

} // namespace tp::nn

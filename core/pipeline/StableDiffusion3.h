#pragma once

// The SD 3 / 3.5 family: CLIP-L and CLIP-G (projected, penultimate layer, concatenated and zero-
// padded to T5's width) followed by T5's tokens along the sequence (77 + max_sequence_length);
// pooled = both projections; the MMDiT transformer predicting the flow velocity; a 16-channel VAE
// with scale and shift; flow-matching Euler/Heun with the config's shift. What diffusers'
// StableDiffusion3Pipeline does (no emphasis syntax, as there). Without T5 (the folder lacks it,
// or the request says so) zeros stand in for its tokens. Core-internal.

#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
#include "core/nn/SD3Transformer2D.h"
#include "core/nn/T5Encoder.h"
#include "core/pipeline/DiffusionModel.h"
#include "core/pipeline/ModelSource.h"
#include "core/text/ClipTokenizer.h"
#include "core/text/T5Tokenizer.h"

namespace tp::pipeline {

class StableDiffusion3Model final : public DiffusionModel {
public:
    static Result<std::unique_ptr<DiffusionModel>> load(const ModelSource& source,
                                                        const DeviceChoice& device);

    Result<EncodedPrompts> encodePrompts(const TextToImageParams& params, bool guided) override;
    Result<LatentShape> latentShape(int width, int height) const override;
    Result<std::unique_ptr<sched::Scheduler>> makeScheduler(const QString& name, const QJsonObject& config,
                                                            int steps, int width, int height) const override;
    at::Tensor denoise(const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond,
                       double guidance) override;
    at::Tensor decode(const at::Tensor& latents) override;

    bool hasT5() const { return static_cast<bool>(m_t5Tokenizer); }

protected:
    bool forgetComponent(const QString& name) override;

private:
    StableDiffusion3Model(const ModelSource& source, const DeviceChoice& device);
    struct Text {
        at::Tensor context; // [1, 77 + T, joint]
        at::Tensor pooled;  // [1, P]
        int clipTokens = 0;
        int t5Tokens = 0;
        bool clipCut = false;
        bool t5Cut = false;
    };
    Text encodeText(const QString& text, int maxSequenceLength, bool withT5, int clipSkip) const;

    std::optional<text::ClipTokenizer> m_tokenizer;
    std::optional<text::ClipTokenizer> m_tokenizer2;
    std::optional<text::T5Tokenizer> m_t5Tokenizer;
    nn::ClipTextModel m_textEncoder{nullptr};
    nn::ClipTextModel m_textEncoder2{nullptr};
    nn::T5EncoderModel m_textEncoder3{nullptr};
    nn::SD3Transformer2D m_transformer{nullptr};
    nn::AutoencoderKL m_vae{nullptr};
};

// Flow-matching families (SD 3, Flux) name their samplers "euler" and "heun" (the app's words);
// core/sched calls them "flow_euler" and "flow_heun".
Result<QString> flowSamplerName(const QString& name, io::ModelFamily family);

} // namespace tp::pipeline

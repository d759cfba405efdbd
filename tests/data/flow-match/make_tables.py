#!/usr/bin/python3
"""Reference tables for tests/sched/tst_flow_match.cpp, without diffusers.

The formula lines of diffusers 0.40.0.dev0 (commit 58eb52c) ported verbatim:
schedulers/scheduling_flow_match_euler_discrete.py (__init__, set_timesteps, time shifts,
stretch_shift_to_terminal, _convert_to_karras, step), scheduling_flow_match_heun_discrete.py
(__init__, set_timesteps, step with s_churn = 0), pipelines/flux/pipeline_flux.py (calculate_shift,
the default sigmas). Run with Debian's python3-torch 1.13 and python3-numpy 1.24:

    /usr/bin/python3 tests/data/flow-match/make_tables.py > tests/data/flow-match/tables.json

numpy 1.24 computes np.float32-scalar / Python-float in float64 where numpy 2 (NEP 50, the reference
machine's) stays in float32; the one such line (stretch_shift_to_terminal's scale factor) is written
the numpy 2 way. Floats are printed with repr(), which round-trips exactly.
"""
import json
import math
import sys

import numpy as np
import torch


class Config(dict):
    __getattr__ = dict.get


def euler_config(**kw):
    c = dict(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False, base_shift=0.5, max_shift=1.15,
             base_image_seq_len=256, max_image_seq_len=4096, invert_sigmas=False, shift_terminal=None,
             use_karras_sigmas=False, time_shift_type="exponential")
    c.update(kw)
    return Config(c)


class FlowMatchEuler:
    def __init__(self, config):
        self.config = config
        num_train_timesteps, shift = config.num_train_timesteps, config.shift
        timesteps = np.linspace(1, num_train_timesteps, num_train_timesteps, dtype=np.float32)[::-1].copy()
        timesteps = torch.from_numpy(timesteps).to(dtype=torch.float32)
        sigmas = timesteps / num_train_timesteps
        if not config.use_dynamic_shifting:
            sigmas = shift * sigmas / (1 + (shift - 1) * sigmas)
        self.shift = shift
        self.sigmas = sigmas
        self.sigma_min = self.sigmas[-1].item()
        self.sigma_max = self.sigmas[0].item()

    def _sigma_to_t(self, sigma):
        return sigma * self.config.num_train_timesteps

    def time_shift(self, mu, sigma, t):
        if self.config.time_shift_type == "exponential":
            return math.exp(mu) / (math.exp(mu) + (1 / t - 1) ** sigma)
        return mu / (mu + (1 / t - 1) ** sigma)

    def stretch_shift_to_terminal(self, t):
        one_minus_z = 1 - t
        denominator = 1 - self.config.shift_terminal
        if t.dtype == np.float32:  # numpy 2: np.float32 / Python float stays float32
            denominator = np.float32(denominator)
        scale_factor = one_minus_z[-1] / denominator
        stretched_t = 1 - (one_minus_z / scale_factor)
        return stretched_t

    def _convert_to_karras(self, in_sigmas, num_inference_steps):
        sigma_min = in_sigmas[-1].item()
        sigma_max = in_sigmas[0].item()
        rho = 7.0
        ramp = np.linspace(0, 1, num_inference_steps)
        min_inv_rho = sigma_min ** (1 / rho)
        max_inv_rho = sigma_max ** (1 / rho)
        return (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho

    def set_timesteps(self, num_inference_steps=None, sigmas=None, mu=None):
        if num_inference_steps is None:
            num_inference_steps = len(sigmas)
        timesteps = None
        if sigmas is None:
            timesteps = np.linspace(self._sigma_to_t(self.sigma_max), self._sigma_to_t(self.sigma_min),
                                    num_inference_steps)
            sigmas = timesteps / self.config.num_train_timesteps
        else:
            sigmas = np.array(sigmas).astype(np.float32)
            num_inference_steps = len(sigmas)
        if self.config.use_dynamic_shifting:
            sigmas = self.time_shift(mu, 1.0, sigmas)
        else:
            sigmas = self.shift * sigmas / (1 + (self.shift - 1) * sigmas)
        if self.config.shift_terminal:
            sigmas = self.stretch_shift_to_terminal(sigmas)
        if self.config.use_karras_sigmas:
            sigmas = self._convert_to_karras(in_sigmas=sigmas, num_inference_steps=num_inference_steps)
        sigmas = torch.from_numpy(sigmas).to(dtype=torch.float32)
        timesteps = sigmas * self.config.num_train_timesteps
        if self.config.invert_sigmas:
            sigmas = 1.0 - sigmas
            timesteps = sigmas * self.config.num_train_timesteps
            sigmas = torch.cat([sigmas, torch.ones(1)])
        else:
            sigmas = torch.cat([sigmas, torch.zeros(1)])
        self.timesteps = timesteps
        self.sigmas = sigmas
        self.step_index = 0

    def step(self, model_output, timestep, sample):
        sample = sample.to(torch.float32)
        sigma = self.sigmas[self.step_index]
        sigma_next = self.sigmas[self.step_index + 1]
        dt = sigma_next - sigma
        prev_sample = sample + dt * model_output
        self.step_index += 1
        return prev_sample.to(model_output.dtype)


class FlowMatchHeun:
    def __init__(self, num_train_timesteps=1000, shift=1.0):
        self.config = Config(num_train_timesteps=num_train_timesteps, shift=shift)
        timesteps = np.linspace(1, num_train_timesteps, num_train_timesteps, dtype=np.float32)[::-1].copy()
        timesteps = torch.from_numpy(timesteps).to(dtype=torch.float32)
        sigmas = timesteps / num_train_timesteps
        sigmas = shift * sigmas / (1 + (shift - 1) * sigmas)
        self.sigmas = sigmas
        self.sigma_min = self.sigmas[-1].item()
        self.sigma_max = self.sigmas[0].item()

    def _sigma_to_t(self, sigma):
        return sigma * self.config.num_train_timesteps

    def set_timesteps(self, num_inference_steps):
        timesteps = np.linspace(self._sigma_to_t(self.sigma_max), self._sigma_to_t(self.sigma_min),
                                num_inference_steps)
        sigmas = timesteps / self.config.num_train_timesteps
        sigmas = self.config.shift * sigmas / (1 + (self.config.shift - 1) * sigmas)
        sigmas = torch.from_numpy(sigmas).to(dtype=torch.float32)
        timesteps = sigmas * self.config.num_train_timesteps
        timesteps = torch.cat([timesteps[:1], timesteps[1:].repeat_interleave(2)])
        self.timesteps = timesteps
        sigmas = torch.cat([sigmas, torch.zeros(1)])
        self.sigmas = torch.cat([sigmas[:1], sigmas[1:-1].repeat_interleave(2), sigmas[-1:]])
        self.prev_derivative = None
        self.dt = None
        self.step_index = 0

    def step(self, model_output, timestep, sample):
        sample = sample.to(torch.float32)
        first = self.dt is None
        if first:
            sigma = self.sigmas[self.step_index]
            sigma_next = self.sigmas[self.step_index + 1]
        else:
            sigma = self.sigmas[self.step_index - 1]
            sigma_next = self.sigmas[self.step_index]
        gamma = 0.0
        sigma_hat = sigma * (gamma + 1)
        if first:
            denoised = sample - model_output * sigma
            derivative = (sample - denoised) / sigma_hat
            dt = sigma_next - sigma_hat
            self.prev_derivative = derivative
            self.dt = dt
            self.sample = sample
        else:
            denoised = sample - model_output * sigma_next
            derivative = (sample - denoised) / sigma_next
            derivative = 0.5 * (self.prev_derivative + derivative)
            dt = self.dt
            sample = self.sample
            self.prev_derivative = None
            self.dt = None
            self.sample = None
        prev_sample = sample + derivative * dt
        prev_sample = prev_sample.to(model_output.dtype)
        self.step_index += 1
        return prev_sample


def calculate_shift(image_seq_len, base_seq_len=256, max_seq_len=4096, base_shift=0.5, max_shift=1.15):
    m = (max_shift - base_shift) / (max_seq_len - base_seq_len)
    b = base_shift - m * base_seq_len
    mu = image_seq_len * m + b
    return mu


def flux_sigmas(n):
    return np.linspace(1.0, 1 / n, n)


def floats(t):
    return [float(v) for v in t.to(torch.float64).flatten().tolist()]


def main():
    out = {"tables": [], "calculate_shift": [], "loops": []}

    def table(name, config, steps, custom_sigmas=False, mu=None, heun=False):
        if heun:
            s = FlowMatchHeun(config["num_train_timesteps"], config["shift"])
            s.set_timesteps(steps)
        else:
            s = FlowMatchEuler(euler_config(**config))
            s.set_timesteps(steps, sigmas=flux_sigmas(steps) if custom_sigmas else None, mu=mu)
        out["tables"].append({"name": name, "sampler": "flow_heun" if heun else "flow_euler", "config": config,
                              "steps": steps, "flux_sigmas": custom_sigmas, "mu": mu,
                              "timesteps": floats(s.timesteps), "sigmas": floats(s.sigmas)})

    sd3 = {"num_train_timesteps": 1000, "shift": 3.0}
    flux_dev = {"num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True, "base_shift": 0.5,
                "max_shift": 1.15, "base_image_seq_len": 256, "max_image_seq_len": 4096}
    schnell = {"num_train_timesteps": 1000, "shift": 1.0, "use_dynamic_shifting": False}
    for n in (1, 4, 28, 50):
        table("sd3-shift3-n%d" % n, sd3, n)
    table("shift1-n10", {"num_train_timesteps": 1000, "shift": 1.0}, 10)
    for seq, n in ((4096, 25), (1024, 25), (256, 4), (4096, 1), (6144, 7)):
        table("flux-dev-seq%d-n%d" % (seq, n), flux_dev, n, custom_sigmas=True, mu=calculate_shift(seq))
    table("flux-schnell-n4", schnell, 4, custom_sigmas=True, mu=calculate_shift(4096))
    table("dynamic-default-spacing-n10", flux_dev, 10, mu=calculate_shift(1024))
    table("linear-time-shift-n8", dict(flux_dev, time_shift_type="linear"), 8, custom_sigmas=True, mu=1.3)
    table("shift-terminal-n12", dict(sd3, shift_terminal=0.1), 12)
    table("shift-terminal-flux-n12", dict(flux_dev, shift_terminal=0.1), 12, custom_sigmas=True,
          mu=calculate_shift(2048))
    table("karras-shift3-n10", dict(sd3, use_karras_sigmas=True), 10)
    table("invert-n6", dict(sd3, invert_sigmas=True), 6)
    table("train500-shift2.5-n9", {"num_train_timesteps": 500, "shift": 2.5}, 9)
    for n in (1, 5, 28):
        table("heun-shift3-n%d" % n, sd3, n, heun=True)

    for seq in (256, 1024, 1536, 4096, 4224, 6144):
        out["calculate_shift"].append({"image_seq_len": seq, "mu": calculate_shift(seq)})

    # Denoising loops with a stand-in model v = 0.25 x - t / 1000 (float32 arithmetic, then the
    # model dtype) from a fixed start, so the steps' arithmetic and dtypes are checked end to end.
    x0 = ((torch.arange(2 * 4 * 3 * 5, dtype=torch.float32).reshape(2, 4, 3, 5) * 37) % 101) / 50 - 1
    out["x0"] = floats(x0)
    out["x0_shape"] = list(x0.shape)

    def loop(name, sched, dtype):
        x = x0.to(dtype)
        for t in sched.timesteps:
            v = (x.to(torch.float32) * 0.25 - t / 1000).to(dtype)
            x = sched.step(v, t, x)
        out["loops"].append({"name": name, "dtype": str(dtype).replace("torch.", ""), "result": floats(x)})

    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        s = FlowMatchEuler(euler_config(**sd3))
        s.set_timesteps(6)
        loop("euler-sd3-n6", s, dtype)
        s = FlowMatchEuler(euler_config(**flux_dev))
        s.set_timesteps(5, sigmas=flux_sigmas(5), mu=calculate_shift(1024))
        loop("euler-flux-seq1024-n5", s, dtype)
        s = FlowMatchHeun(1000, 3.0)
        s.set_timesteps(4)
        loop("heun-sd3-n4", s, dtype)

    out["versions"] = {"torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0]}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

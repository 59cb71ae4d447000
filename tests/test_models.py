"""DSGAN networks and the import of the authors' checkpoints."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from dsgan.checkpoints.authors import load_authors_checkpoint
from dsgan.errors import UserError
from dsgan.models import Discriminator, Generator
from dsgan.models.dsgan import block_phase, generator_from_config


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_parameter_counts_match_the_paper_networks():
    assert n_params(Generator()) == 594_380
    assert n_params(Discriminator()) == 1_030_273


@pytest.mark.parametrize("size", [(7, 9), (16, 16)])
def test_shapes_are_kept(size):
    torch.manual_seed(0)
    x = torch.rand(2, 3, *size)
    g = Generator(n_res_blocks=2, channels=16)
    d = Discriminator(channels=8)
    assert g(x).shape == x.shape
    assert d(x).shape == (2, 1, *size)


def test_sigmoid_output_is_in_open_unit_interval():
    torch.manual_seed(0)
    g = Generator(n_res_blocks=2, channels=16)
    with torch.no_grad():
        y = g(torch.rand(1, 3, 12, 12) * 10 - 5)  # out-of-range input: output still bounded
    assert torch.all(y > 0) and torch.all(y < 1)


def test_residual_output_is_identity_at_init():
    torch.manual_seed(0)
    g = Generator(n_res_blocks=2, channels=16, output="residual")
    x = torch.rand(2, 3, 10, 11)
    with torch.no_grad():
        assert torch.equal(g(x), x)
    # ... but it is trainable away from the identity (the zero init is not a frozen layer)
    g(x).sum().backward()
    assert g.block_output.weight.grad is not None and g.block_output.weight.grad.abs().sum() > 0


def test_invalid_output_kind_is_rejected():
    with pytest.raises(ValueError, match="output"):
        Generator(output="tanh")  # type: ignore[arg-type]


def test_noise_channels_random_per_call_but_reproducible_with_fixed_noise():
    torch.manual_seed(0)
    g = Generator(n_res_blocks=2, channels=16, noise_channels=2)
    assert g.block_input[0].in_channels == 5
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        a, b = g(x), g(x)
        assert not torch.allclose(a, b)
        noise = torch.randn(1, 2, 8, 8)
        assert torch.equal(g(x, noise), g(x, noise))
        torch.manual_seed(5)
        c = g(x)
        torch.manual_seed(5)
        assert torch.equal(c, g(x))


def test_block_phase_is_a_sawtooth_restarting_at_every_block_boundary():
    ph = block_phase(2, 3, 10, 4, offsets=torch.tensor([[0, 0], [1, 2]]))
    assert ph.shape == (2, 2, 3, 10) and ph.dtype == torch.float32
    assert ph[0, 0, 0].tolist() == [0, 0.25, 0.5, 0.75, 0, 0.25, 0.5, 0.75, 0, 0.25]
    assert ph[0, 1, :, 0].tolist() == [0, 0.25, 0.5]
    assert ph[1, 0, 0, :4].tolist() == [0.25, 0.5, 0.75, 0]  # shifted by ox = 1
    assert ph[1, 1, :, 0].tolist() == [0.5, 0.75, 0]  # shifted by oy = 2
    assert torch.equal(block_phase(1, 3, 10, 4), ph[:1])  # default: grid at the top-left pixel


def test_block_period_adds_two_input_channels_and_g_follows_the_phase():
    torch.manual_seed(0)
    g = Generator(2, 8, output="residual", block_period=8)
    assert g.block_input[0].in_channels == 5
    torch.nn.init.normal_(g.block_output.weight, std=0.05)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        default = g(x)
        assert torch.equal(default, g(x, None, block_phase(1, 16, 16, 8)))
        shifted = g(x, None, block_phase(1, 16, 16, 8, torch.tensor([[3, 0]])))
    assert (default - shifted).abs().max() > 1e-3
    assert Generator(block_period=0).block_input[0].in_channels == 3  # the paper's G unchanged


def test_noise_injection_adds_scaled_white_noise():
    torch.manual_seed(0)
    g = Generator(2, 8, output="residual", noise_channels=3, noise_injection=True)
    x, n = torch.rand(1, 3, 16, 16), torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(g(x, n), x)  # zero-initialised: the identity, like the residual G
        torch.nn.init.constant_(g.noise_scale.bias, 0.1)  # a constant scale of 0.1
        assert torch.allclose(g(x, n), x + 0.1 * n, atol=1e-6)
    with pytest.raises(ValueError, match="noise_injection"):
        Generator(noise_channels=0, output="residual", noise_injection=True)
    with pytest.raises(ValueError, match="noise_injection"):
        Generator(noise_channels=3, output="sigmoid", noise_injection=True)


def test_network_noise_false_leaves_the_noise_to_the_sensor():
    """With ``network_noise=False`` the network takes no noise channels: the noise reaches the
    output only through the sensor stage (its first 3 channels), so channels the sensor does not
    use change nothing, while the network still sees (and can shape) the sensor's noisy image."""
    torch.manual_seed(0)
    kw = {"output": "residual", "noise_channels": 5, "signal_noise": True}
    stages_only = Generator(2, 8, network_noise=False, **kw)
    full = Generator(2, 8, **kw)
    assert stages_only.block_input[0].in_channels == 3
    assert full.block_input[0].in_channels == 8
    x, n = torch.rand(1, 3, 16, 16), torch.randn(1, 5, 16, 16)
    other = n.clone()
    other[:, 3:] = torch.randn(1, 2, 16, 16)  # the channels only the network could read
    moved = n.clone()
    moved[:, :3] = torch.randn(1, 3, 16, 16)  # the sensor's draw
    with torch.no_grad():
        for g in (stages_only, full):
            torch.nn.init.normal_(g.block_output.weight, std=0.05)
        assert torch.equal(stages_only(x, n), stages_only(x, other))
        assert (full(x, n) - full(x, other)).abs().max() > 1e-3  # the default reads them
        assert (stages_only(x, n) - stages_only(x, moved)).abs().max() > 1e-3
    with pytest.raises(ValueError, match="network_noise"):
        Generator(output="residual", noise_channels=3, network_noise=False)
    # what a checkpoint stores rebuilds it: same keys and shapes, old configs default to True
    rebuilt = generator_from_config(
        {"n_res_blocks": 2, "channels": 8, "network_noise": False, **kw}
    )
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in stages_only.state_dict().items()
    }
    assert generator_from_config({"n_res_blocks": 2, "channels": 8, **kw}).network_noise


def test_receptive_radius_bounds_the_dependence():
    """Changing a pixel farther than receptive_radius away leaves an output pixel unchanged."""
    torch.manual_seed(0)
    g = Generator(n_res_blocks=2, channels=8)
    r = g.receptive_radius
    x = torch.rand(1, 3, 1, 2 * r + 5)
    y = x.clone()
    y[..., r + 1] += 0.5  # at distance r + 1 from pixel 0 and r - 1 from pixel 2
    with torch.no_grad():
        gx, gy = g(x), g(y)
    assert torch.equal(gx[..., 0], gy[..., 0])
    assert not torch.equal(gx[..., 2], gy[..., 2])


# --- authors' checkpoints -----------------------------------------------------------------------


def authors_d_state(d: Discriminator) -> dict[str, torch.Tensor]:
    """Our D's state in the authors' key layout (DiscriminatorBasic inside Discriminator)."""
    ours_to_theirs = {"net.0": "0", "net.2": "2", "net.3": "3", "net.5": "5", "net.6": "6"}
    out = {}
    for key, value in d.state_dict().items():
        prefix, _, leaf = key.rpartition(".")
        index = "9" if prefix == "gan_net" else ours_to_theirs[prefix]
        out[f"net.net.{index}.{leaf}"] = value.clone()
    return out


def randomise(net: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand_like(t) + 0.5)
            elif t.is_floating_point():
                t.copy_(torch.rand_like(t) * 0.2 - 0.1)
            else:
                t.fill_(7)


def test_authors_checkpoint_round_trip(tmp_path: Path):
    torch.manual_seed(0)
    g_src = Generator(n_res_blocks=3, channels=16)
    d_src = Discriminator(channels=8)
    randomise(g_src)
    randomise(d_src)
    d_state = authors_d_state(d_src)
    assert "net.net.9.weight" in d_state and "net.net.3.running_var" in d_state
    assert "net.net.3.num_batches_tracked" in d_state
    # the Gaussian variant of their D also stores its fixed filter kernel: ignored
    d_state["filter.filter_low.gaussian_filter.weight"] = torch.ones(3, 1, 5, 5)
    path = tmp_path / "authors.tar"
    torch.save(
        {
            "epoch": 12,
            "iteration": 3456,
            "model_g_state_dict": g_src.state_dict(),
            "models_d_state_dict": d_state,
            "optimizer_g_state_dict": torch.optim.Adam(g_src.parameters()).state_dict(),
        },
        path,
    )
    g, d, info = load_authors_checkpoint(path)
    assert isinstance(g, Generator) and isinstance(d, Discriminator)
    assert len(g.res_blocks) == 3 and g.output == "sigmoid"
    assert info["epoch"] == 12 and info["iteration"] == 3456 and info["n_res_blocks"] == 3
    x = torch.rand(2, 3, 9, 10)
    g_src.eval()
    d_src.eval()
    with torch.no_grad():
        assert torch.equal(g(x), g_src(x))
        out = d(x)
        assert torch.isfinite(out).all()
        assert torch.equal(out, d_src(x))  # eval BN uses the imported running statistics
    assert int(d.net[3].num_batches_tracked) == 7


def test_authors_checkpoint_default_sizes_and_no_discriminator(tmp_path: Path):
    g_src = Generator()
    path = tmp_path / "g_only.pth"
    torch.save({"epoch": 1, "iteration": 1, "model_g_state_dict": g_src.state_dict()}, path)
    g, d, _ = load_authors_checkpoint(path)
    assert d is None
    assert len(g.res_blocks) == 8 and n_params(g) == 594_380


def test_authors_checkpoint_without_generator_is_a_user_error(tmp_path: Path):
    path = tmp_path / "other.pth"
    torch.save({"state_dict": Generator(n_res_blocks=1).state_dict()}, path)
    with pytest.raises(UserError, match=r"other\.pth.*model_g_state_dict"):
        load_authors_checkpoint(path)


def test_authors_checkpoint_with_mismatched_weights_is_a_user_error(tmp_path: Path):
    state = Generator(n_res_blocks=2).state_dict()
    del state["block_output.bias"]
    path = tmp_path / "broken.pth"
    torch.save({"model_g_state_dict": state}, path)
    with pytest.raises(UserError, match=r"broken\.pth"):
        load_authors_checkpoint(path)


def test_authors_checkpoint_missing_file(tmp_path: Path):
    with pytest.raises(UserError, match=r"nope\.pth"):
        load_authors_checkpoint(tmp_path / "nope.pth")


class _Payload:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_with_code_is_refused_and_never_executed(tmp_path: Path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        pickle.dump({"model_g_state_dict": {}, "x": _Payload(marker)}, fh, protocol=2)
    with pytest.raises(UserError, match=r"evil\.pth"):
        load_authors_checkpoint(path)
    assert not marker.exists()
    # the same payload inside a torch zip file is refused too
    zpath = tmp_path / "evil_zip.pth"
    torch.save(
        {"model_g_state_dict": Generator(n_res_blocks=1).state_dict(), "x": _Payload(marker)}, zpath
    )
    with pytest.raises(UserError, match=r"evil_zip\.pth"):
        load_authors_checkpoint(zpath)
    assert not marker.exists()

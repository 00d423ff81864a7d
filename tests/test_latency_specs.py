"""Model, hardware and link specs: presets against published numbers, user files, errors, roofline."""

import json
from pathlib import Path

import numpy as np
import pytest

import latency
from latency import SpecError
from latency.specs import _data_file

PRESETS = ["llama-moe-3.5b", "llama-moe-3.5b-2of8", "mixtral-8x7b", "qwen3-30b-a3b", "deepseek-v3",
           "olmoe-1b-7b"]


def test_contract_preset_names_and_default():
    assert sorted(PRESETS) == latency.model_names()
    assert latency.DEFAULT_MODEL == "llama-moe-3.5b"
    m = latency.load_model()
    assert (m.n_routed_experts, m.top_k, m.expert_intermediate_size) == (16, 4, 688)


@pytest.mark.parametrize("name", PRESETS)
def test_parameter_counts_reproduce_model_cards(name):
    # Total and active counts derived from the architecture fields must match the
    # model-card names within rounding (the cards round to 2-3 significant digits).
    m = latency.load_model(name)
    total, active = m.parameter_count()
    assert total == pytest.approx(m.published_total_params, rel=0.01)
    assert active == pytest.approx(m.published_active_params, rel=0.02)


@pytest.mark.parametrize("name", PRESETS)
def test_presets_cite_a_source(name):
    # This checkout's data/ (the installed spacexnet_data may come from another checkout).
    data = json.loads((Path(__file__).resolve().parents[1] / "data" / "models" / f"{name}.json").read_text())
    assert "docs/models.md" in data["source"]


def test_deepseek_dense_layers_and_shared_expert():
    m = latency.load_model("deepseek-v3")
    assert m.moe_layers == tuple(range(3, 61))
    assert not m.is_moe_layer[:3].any() and m.is_moe_layer[3:].all()
    assert m.local_ffn_params(0) == 3 * 7168 * 18432
    assert m.local_ffn_params(3) == 3 * 7168 * 2048
    assert m.kv_cache_elements_per_token == 576
    assert m.hidden_state_bytes == 14336  # 14 KiB, docs/models.md §1


def test_user_spec_file_round_trip(tmp_path):
    data = json.loads(_data_file("models", "mixtral-8x7b.json").read_text())
    data["name"] = "my-mixtral"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    m = latency.load_model(str(path))
    assert m.name == "my-mixtral" and m.n_kv_heads == 8


@pytest.mark.parametrize("change, words", [
    ({"colour": "red"}, ["unknown field", "'colour'"]),
    ({"top_k": 17}, ["'top_k' = 17", "'n_routed_experts' = 16"]),
    ({"moe_layers": [0, 32]}, ["moe_layers", "32", "n_layers - 1 = 31"]),
    ({"n_kv_heads": 5}, ["'n_kv_heads' = 5", "divide"]),
    ({"bytes_per_param": 0}, ["'bytes_per_param'", "> 0"]),
    ({"hidden_size": 4096.5}, ["'hidden_size'", "integer"]),
    ({"n_shared_experts": 1}, ["shared_expert_intermediate_size"]),
    ({"moe_layers": {"start": 3, "stop": 32}}, ["dense layer", "dense_intermediate_size"]),
    ({"q_lora_rank": 12}, ["q_lora_rank", "'mla'"]),
])
def test_bad_user_spec_names_file_field_and_rule(tmp_path, change, words):
    data = json.loads(_data_file("models", "llama-moe-3.5b.json").read_text())
    data.update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SpecError) as info:
        latency.load_model(str(path))
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_missing_field_and_broken_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "name": "x",\n  "n_layers": 2,\n}\n')
    with pytest.raises(SpecError, match=r"broken\.json:4:1: not valid JSON"):
        latency.load_model(str(path))
    path.write_text('{"name": "x"}')
    with pytest.raises(SpecError, match="missing field"):
        latency.load_model(str(path))


def test_unknown_preset_lists_choices():
    with pytest.raises(SpecError, match="unknown model 'gpt-9'.*llama-moe-3.5b"):
        latency.load_model("gpt-9")


def test_hardware_and_link_profiles_carry_a_source_for_every_number():
    assert {"jetson-agx-orin-64gb", "h100-sxm"} <= set(latency.hardware_names())
    for name in latency.hardware_names():
        hw = latency.load_hardware(name)
        for key in ("peak_flops", "memory_bandwidth_bytes_per_s", "memory_bytes"):
            assert getattr(hw, key) > 0 and hw.sources[key]
    for name in latency.link_profile_names():
        link = latency.load_link_profile(name)
        for key in ("isl_rate_bps", "forwarding_delay_ms", "gsl_min_elevation_deg"):
            assert link.sources[key]
    assert latency.load_link_profile().isl_rate_bps == 100e9  # docs/models.md §3
    assert latency.load_link_profile().speed_of_light_km_per_s == 299792.458


def test_user_hardware_file_validated(tmp_path):
    path = tmp_path / "rad-hard.json"
    path.write_text(json.dumps({"peak_flops": 1e12, "memory_bandwidth_bytes_per_s": -5, "memory_bytes": 1e9}))
    with pytest.raises(SpecError, match="memory_bandwidth_bytes_per_s.*-5"):
        latency.load_hardware(str(path))
    with pytest.raises(SpecError, match="unknown hardware profile 'tpu'"):
        latency.load_hardware("tpu")


def test_roofline_expert_time_by_hand():
    # SwiGLU expert of LLaMA-MoE 4/16: 3 x 4096 x 688 weights, bf16; batch 1 is memory-bound.
    weights = 3 * 4096 * 688
    for name in latency.hardware_names():
        hw = latency.load_hardware(name)
        bytes_read = weights * 2 + 2 * 8192  # weights + hidden state in and out
        expected_ms = max(2 * weights / hw.peak_flops, bytes_read / hw.memory_bandwidth_bytes_per_s) * 1e3
        assert latency.expert_time_ms("llama-moe-3.5b", hw) == pytest.approx(expected_ms, rel=1e-12)
        assert bytes_read / hw.memory_bandwidth_bytes_per_s > 2 * weights / hw.peak_flops


def test_roofline_turns_compute_bound_with_batch():
    hw = latency.HardwareSpec("slow-math", peak_flops=1e9, memory_bandwidth_bytes_per_s=1e12, memory_bytes=1e9)
    weights = 3 * 4096 * 688
    assert latency.expert_time_ms("llama-moe-3.5b", hw, batch_tokens=8) == pytest.approx(
        2 * weights * 8 / 1e9 * 1e3)


def test_gate_time_parts_and_context():
    hw = latency.load_hardware("jetson-agx-orin-64gb")
    m = latency.load_model("llama-moe-3.5b")
    attention_bytes = 4 * 4096 * 4096 * 2
    kv_bytes = 2 * 32 * 128 * 2 * 1000
    router_bytes = 4096 * 16 * 2
    expected = (attention_bytes + kv_bytes) / hw.memory_bandwidth_bytes_per_s * 1e3 \
        + router_bytes / hw.memory_bandwidth_bytes_per_s * 1e3
    assert latency.gate_time_ms(m, hw, 0, context_tokens=1000) == pytest.approx(expected)
    assert latency.gate_time_ms(m, hw, 0, part="local") == 0.0
    ds = latency.load_model("deepseek-v3")
    dense = latency.gate_time_ms(ds, hw, 0, part="local")
    shared = latency.gate_time_ms(ds, hw, 3, part="local")
    assert dense == pytest.approx(3 * 7168 * 18432 * 1 / hw.memory_bandwidth_bytes_per_s * 1e3)
    assert dense == pytest.approx(9 * shared)
    with pytest.raises(SpecError, match="layer = 32"):
        latency.gate_time_ms(m, hw, 32)


def test_compute_times_shapes():
    t = latency.compute_times("deepseek-v3", "h100-sxm")
    assert t.dispatch_ms.shape == (61,) and np.all(t.expert_ms[:3] == 0) and np.all(t.expert_ms[3:] > 0)
    assert t.head_ms > 0


def test_absurd_sizes_are_refused_not_overflowing():
    """A width too large for float arithmetic downstream (found by the fuzz tests) is a spec error."""
    import copy
    import json

    from importlib.resources import files

    data = json.loads(files("spacexnet_data").joinpath("models/llama-moe-3.5b.json").read_text())
    data = copy.deepcopy(data)
    data["hidden_size"] = 10**400
    with pytest.raises(SpecError, match="'hidden_size' = 1000.* must be at most 1,000,000,000"):
        latency.ModelSpec.from_dict(data, origin="x.json")

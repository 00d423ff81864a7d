"""The scenario document: content-hash ids, defaults, refusals, and building through spacexnet.scenario."""

import numpy as np
import pytest
from pydantic import ValidationError

from spacexnet.scenario import build_constellation, model_setup
from spacexnet.service.config import ServiceConfig
from spacexnet.service.problems import Problem
from spacexnet.service.schema import Scenario, canonical_json, scenario_id, validation_detail
from spacexnet.service.store import ScenarioStore, build

WALKER = {"walker": "53:360/18/1", "altitude_km": 550}


def detail_of(document) -> str:
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(document)
    return validation_detail(info.value)


def test_the_same_document_is_the_same_id_whatever_its_spelling():
    # Defaults written out or left out, keys in any order, 550 or 550.0: one canonical form.
    short = Scenario.model_validate({"constellation": WALKER})
    spelt = Scenario.model_validate_json(
        '{"seed": 0, "activation": "zipf:1.0", "hardware": "jetson-agx-orin-64gb", '
        '"constellation": {"star": false, "altitude_km": 550.0, "walker": "53:360/18/1"}, '
        '"model": {"preset": "llama-moe-3.5b"}}')
    assert scenario_id(short) == scenario_id(spelt)
    assert canonical_json(short) == canonical_json(spelt)
    assert scenario_id(Scenario.model_validate({"constellation": WALKER, "seed": 1})) != scenario_id(short)
    assert Scenario.model_validate_json(canonical_json(short)) == short
    assert len(scenario_id(short)) == 16 and int(scenario_id(short), 16) >= 0


def test_empty_document_is_the_cli_default():
    doc = Scenario()
    assert doc.constellation.preset == "starlink-shell1"
    assert (doc.model.preset, doc.hardware, doc.link_profile) == ("llama-moe-3.5b", "jetson-agx-orin-64gb",
                                                                  "laser-100g")
    assert (doc.activation, doc.seed, doc.experts_per_sat, doc.topology) == ("zipf:1.0", 0, 1, "plus-grid")


@pytest.mark.parametrize("document, expected", [
    ({"colour": "red"}, "unknown field 'colour'"),
    ({"constellation": {**WALKER, "planes": 3}}, "unknown field 'constellation.planes'"),
    ({"constellation": {"walker": "53:360/18/1"}}, "field 'constellation.altitude_km' is required"),
    ({"constellation": {"preset": "starlink-shell1", "walker": "53:1/1/0"}}, "exactly one of 'preset'"),
    ({"constellation": {"tle": "x", "epoch": "2026-01-01T00:00:00Z"}}, "unknown field 'constellation.epoch'"),
    ({"constellation": {"omm": "x", "omm_format": "yaml"}}, "constellation.omm_format"),
    ({"model": {"preset": "gpt-5"}}, "unknown model 'gpt-5'; choose one of"),
    ({"model": {"spec": [1, 2]}}, "field 'model.spec'"),
    ({"hardware": "/etc/passwd"}, "unknown hardware profile '/etc/passwd'"),
    ({"link_profile": "links.json"}, "unknown link profile 'links.json'"),
    ({"activation": "file:/etc/passwd"}, "the service reads no files"),
    ({"seed": "1"}, "field 'seed' = '1': Input should be a valid integer"),
    ({"seed": -1}, "greater than or equal to 0"),
    ({"shell": 1.5}, "field 'shell'"),
    ({"margin_km": float("nan")}, "finite number"),
    ({"latitude_cutoff_deg": 91}, "less than or equal to 90"),
    ({"topology": "mesh"}, "field 'topology'"),
])
def test_bad_documents_are_refused_in_one_line_naming_the_field(document, expected):
    text = detail_of(document)
    assert expected in text
    assert "\n" not in text and text.startswith("scenario: ")


def test_several_problems_are_counted_not_listed():
    assert detail_of({"colour": 1, "flavour": 2}).endswith("(and 1 more problem)")


def test_build_goes_through_the_cli_functions():
    doc = Scenario.model_validate({"constellation": WALKER, "model": {"preset": "llama-moe-3.5b-2of8"},
                                   "activation": "dirichlet:0.5", "seed": 3})
    constellation, setup, warnings = build(doc, max_satellites=1000)
    reference = build_constellation(walker="53:360/18/1", altitude_km=550)
    expected = model_setup("llama-moe-3.5b-2of8", activation="dirichlet:0.5", seed=3)
    assert np.array_equal(constellation.norad_id, reference.norad_id)
    assert np.array_equal(constellation.plane, reference.plane)
    assert np.array_equal(setup.probs, expected.probs)
    for part in ("dispatch_ms", "expert_ms", "local_ms"):
        assert np.array_equal(getattr(setup.times, part), getattr(expected.times, part))
    assert warnings == ()


def test_a_model_spec_document_builds_like_a_model_file(tmp_path):
    import json

    import latency

    spec = json.loads(latency.specs._data_file("models", "mixtral-8x7b.json").read_text())
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(spec))
    doc = Scenario.model_validate({"constellation": WALKER, "model": {"spec": spec}})
    _, setup, _ = build(doc, max_satellites=1000)
    assert setup.model == model_setup(model_file=path).model
    spec.pop("n_layers")
    with pytest.raises(Problem, match="^model.spec: missing field"):
        build(Scenario.model_validate({"model": {"spec": spec}}), max_satellites=10_000)


def test_limits_and_shells_are_checked_before_the_scenario_is_held():
    store = ScenarioStore(ServiceConfig(max_satellites=400, max_scenarios=2))
    big = Scenario.model_validate({"constellation": {"walker": "53:100000/100/1", "altitude_km": 550}})
    with pytest.raises(Problem, match="100,000 satellites is more than this service's limit of 400"):
        store.add(big)
    with pytest.raises(Problem, match=r"^--shell 2: .* has 1 shell\(s\)"):
        store.add(Scenario.model_validate({"constellation": WALKER, "shell": 2}))
    loaded, new = store.add(Scenario.model_validate({"constellation": WALKER}))
    again, new_again = store.add(Scenario.model_validate({"constellation": {**WALKER, "altitude_km": 550.0}}))
    assert new and not new_again and again is loaded
    with pytest.raises(Problem) as full:
        store.add(Scenario.model_validate({"constellation": WALKER, "seed": 1}))
    assert full.value.status == 409
    assert [s.id for s in store.all()] == [store.default_id, loaded.id]


def test_saved_scenarios_come_back_after_a_restart(tmp_path):
    config = ServiceConfig(data_dir=tmp_path)
    loaded, _ = ScenarioStore(config).add(Scenario.model_validate({"constellation": WALKER, "seed": 7}))
    (tmp_path / "scenarios" / "0123456789abcdef.json").write_text('{"colour": 1}')  # logged and skipped
    again = ScenarioStore(config)
    assert again.load_saved() == 1
    assert again.get(loaded.id).document == loaded.document
    assert (tmp_path / "scenarios" / f"{loaded.id}.json").read_text().strip() == canonical_json(loaded.document)

"""The unit tests mirror the code: plugins/<kind>/<name>.py is tested in
tests/unit/plugins/<kind>/test_<name>.py (more aspects beside it as test_<name>_<aspect>.py),
so the tests of a file are found from its path."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TESTS = REPO / "tests/unit/plugins"
KINDS = ("modules", "module_utils", "plugin_utils", "filter")

# Code files without a test module of their own, each covered elsewhere (where is said).
# A new file does not go here: it gets its test module.
EXEMPT = {
    # The module parses its arguments and calls module_utils/conformance.check, whose cases
    # (policies, check mode, pending secrets and CA) are in module_utils/test_conformance.py; the
    # module itself runs as site.yml's first step in every molecule scenario.
    "modules/conformance_check.py": "module_utils/test_conformance.py",
    # full_match and the name rules: module_utils/test_dashboard_properties.py (uids, folders,
    # titles accepted exactly by the rule) and the dashboard_sync tests that refuse bad names.
    "module_utils/safe_names.py": "module_utils/test_dashboard_properties.py",
    # Filters that only wrap plugin_utils or module_utils (an error type turned into
    # AnsibleFilterError): the logic is tested with the code it wraps.
    "filter/certificates.py": "plugin_utils/test_cert_check.py",
    "filter/files.py": "module_utils/test_file_set.py",
    "filter/grafana_ini.py": "plugin_utils/test_ini_value.py",
    # also rendered into the shipped conformance rules by roles/prometheus/test_alert_rules.py
    "filter/metric_standard.py": "module_utils/test_metric_standard.py",
    # also run by the alertmanager role's render in roles/alertmanager/test_notifications.py
    "filter/notification_content.py": "plugin_utils/test_notification_content.py",
    "filter/notification_routes.py": "plugin_utils/test_notification_routes.py",
    "filter/openpgp.py": "plugin_utils/test_openpgp.py",
    "filter/probes.py": "plugin_utils/test_probes.py",
    # also run by the topology role in collection/test_inventory_contract.py
    "filter/secrets.py": "plugin_utils/test_secrets_policy.py",
    # known_variables is tested in collection/test_inventory_contract.py, which runs the
    # topology role (this filter) on real inventories
    "filter/topology.py": "plugin_utils/test_topology.py",
    "filter/web_clients.py": "plugin_utils/test_web_clients.py",
}


def code_files():
    return sorted(f"{kind}/{p.name}" for kind in KINDS for p in (REPO / "plugins" / kind).glob("*.py")
                  if p.name != "__init__.py")


def test_every_code_file_has_a_test_module_at_its_mirrored_path():
    missing = [f for f in code_files()
               if f not in EXEMPT and not (TESTS / Path(f).parent / f"test_{Path(f).name}").is_file()]
    assert not missing, f"no test module at tests/unit/plugins/<kind>/test_<name>.py for: {missing}"


def test_exemptions_are_current_and_name_tests_that_exist():
    files = code_files()
    for code, covered_by in EXEMPT.items():
        assert code in files, f"{code} is exempted but does not exist"
        assert not (TESTS / Path(code).parent / f"test_{Path(code).name}").is_file(), \
            f"{code} has a test module now: drop its exemption"
        assert (TESTS / covered_by).is_file(), f"{code} is said to be covered by {covered_by}, which does not exist"


def test_every_test_module_under_plugins_names_a_code_file():
    stems = {kind: {p.stem for p in (REPO / "plugins" / kind).glob("*.py")} for kind in KINDS}
    stray = []
    for test in sorted(TESTS.glob("*/test_*.py")):
        kind, name = test.parent.name, test.stem[len("test_"):]
        if not any(name == s or name.startswith(s + "_") for s in stems.get(kind, ())):
            stray.append(str(test.relative_to(REPO)))
    assert not stray, f"test modules that mirror no file under plugins/: {stray}"

import pytest

from gan_zoo.errors import UserError
from gan_zoo.registry import load_registry, registry

BUILTIN_PLUGINS = {"vanilla", "toy-data", "digits-data", "file-data"}

GOOD_FAMILY = """
    from gan_zoo import hookimpl
    from gan_zoo.plugins.vanilla import VanillaGAN

    class Other(VanillaGAN):
        name = "{name}"
        description = "a copy of vanilla under another name"

    @hookimpl
    def register_families(register):
        register(Other)
"""


def test_builtins_are_entry_point_plugins_with_versions():
    reg = load_registry()
    plugins = {p.name: p for p in reg.plugins}
    assert BUILTIN_PLUGINS <= set(plugins)
    for name in BUILTIN_PLUGINS:
        assert plugins[name].distribution == "gan-zoo"
        assert plugins[name].version and plugins[name].error is None
    assert plugins["vanilla"].registered["families"] == ["vanilla"]
    assert set(plugins["toy-data"].registered["datasets"]) == {"ring8", "grid25"}
    assert reg.plugin_of("families", "vanilla").name == "vanilla"


def test_registry_is_loaded_once():
    assert registry() is registry()


def test_broken_import_is_recorded_and_the_rest_still_works(install_plugin, capsys):
    install_plugin("gan-zoo-broken", "9.9", {"broken_plugin_mod": "raise RuntimeError('boom at import')\n"},
                   {"broken": "broken_plugin_mod"})
    reg = load_registry()
    broken = next(p for p in reg.plugins if p.name == "broken")
    assert broken.error == "RuntimeError: boom at import"
    assert broken.distribution == "gan-zoo-broken" and broken.version == "9.9"
    assert "vanilla" in reg.families and "ring8" in reg.datasets
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and "broken (gan-zoo-broken 9.9)" in warning


def test_invalid_hook_implementation_is_recorded(install_plugin):
    source = """
        from gan_zoo import hookimpl

        @hookimpl
        def register_familys(register):  # misspelt hook
            pass
    """
    install_plugin("gan-zoo-typo", "1.0", {"typo_plugin_mod": source}, {"typo": "typo_plugin_mod"})
    reg = load_registry()
    typo = next(p for p in reg.plugins if p.name == "typo")
    assert "register_familys" in typo.error
    assert "vanilla" in reg.families


def test_hook_that_raises_is_recorded(install_plugin):
    source = """
        from gan_zoo import hookimpl

        @hookimpl
        def register_datasets(register):
            raise ValueError("no data today")
    """
    install_plugin("gan-zoo-raises", "1.0", {"raising_plugin_mod": source}, {"raises": "raising_plugin_mod"})
    reg = load_registry()
    assert next(p for p in reg.plugins if p.name == "raises").error.endswith("raised ValueError: no data today")
    assert "ring8" in reg.datasets


def test_third_party_family_records_its_plugin(install_plugin):
    install_plugin("gan-zoo-other", "2.3", {"other_family_mod": GOOD_FAMILY.format(name="other")},
                   {"other": "other_family_mod"})
    reg = load_registry()
    assert reg.plugin_of("families", "other").label == "other (gan-zoo-other 2.3)"


def test_a_plugin_reusing_a_registered_name_is_skipped_naming_both(install_plugin):
    install_plugin("gan-zoo-clash", "0.1", {"clash_family_mod": GOOD_FAMILY.format(name="vanilla") + """
    @hookimpl
    def register_suites(register):
        from pathlib import Path
        from gan_zoo import SuiteFile
        register(SuiteFile("mine", Path(__file__)))  # sound on its own, dropped with the clash
    """}, {"clash": "clash_family_mod"})
    reg = load_registry()  # not fatal: the built-in keeps its name, the newcomer is reported
    clash = next(p for p in reg.plugins if p.name == "clash")
    assert "'vanilla'" in clash.error and "vanilla (gan-zoo" in clash.error
    assert reg.plugin_of("families", "vanilla").distribution == "gan-zoo"
    assert "mine" not in reg.suites and clash.registered == {kind: [] for kind in clash.registered}


def test_a_plugin_whose_family_breaks_the_contract_is_skipped_with_the_reason(install_plugin):
    source = """
        from dataclasses import dataclass
        from gan_zoo import hookimpl, GanModel

        @dataclass
        class Config:
            width: int = 8

        class NoGenerate(GanModel):
            name = "no-generate"
            description = "written from a contract that forgot generate(z)"
            kind = "trained"
            Config = Config
            default_steps = 10

            def configure_optimizers(self):
                return {}

            def training_step(self, real, optimizers):
                return {}

        @hookimpl
        def register_families(register):
            register(NoGenerate)
    """
    install_plugin("gan-zoo-partial", "1.0", {"partial_family_mod": source}, {"partial": "partial_family_mod"})
    reg = load_registry()
    partial = next(p for p in reg.plugins if p.name == "partial")
    assert partial.error == ("family 'no-generate' does not implement generate (a trained family needs generate, "
                             "configure_optimizers, training_step)")
    assert "no-generate" not in reg.families and "vanilla" in reg.families


def test_allowlist_and_disable_switches(monkeypatch):
    monkeypatch.setenv("GAN_ZOO_PLUGINS", "toy-data")
    reg = load_registry()
    assert [p.name for p in reg.plugins] == ["toy-data"] and reg.families == {}
    monkeypatch.setenv("GAN_ZOO_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert load_registry().plugins == []


def test_unknown_names_suggest_near_matches():
    with pytest.raises(UserError, match=r"unknown family 'vanila'; did you mean 'vanilla'"):
        load_registry().family("vanila")
    with pytest.raises(UserError, match=r"unknown dataset 'ring'; did you mean 'ring8'"):
        load_registry().dataset("ring")


def _local_plugin(name: str, source: str):
    import textwrap
    import types

    module = types.ModuleType(name)
    exec(textwrap.dedent(source), module.__dict__)
    return module


def test_a_local_plugin_registers_like_an_installed_one_contract_checks_included():
    good = _local_plugin("good_local", GOOD_FAMILY.format(name="mine"))
    reg = load_registry(local_plugins={"mine": good})
    assert reg.family("mine").description.startswith("a copy of vanilla")
    assert reg.plugin_of("families", "mine").label == "mine (local -)" and "vanilla" in reg.families
    grown = GOOD_FAMILY.format(name="mine").replace('description = "', 'kind = "grown"\n        description = "')
    reg = load_registry(local_plugins={"mine": _local_plugin("broken_local", grown)})
    assert "mine" not in reg.families
    assert next(p for p in reg.plugins if p.name == "mine").error == ("family 'mine' has kind 'grown'; use 'trained' "
                                                                       "or 'constructed'")


def test_a_local_plugin_named_like_an_installed_one_is_refused():
    with pytest.raises(UserError, match="local plugin 'vanilla': an installed plugin has that name"):
        load_registry(local_plugins={"vanilla": _local_plugin("clash_local", GOOD_FAMILY.format(name="mine"))})

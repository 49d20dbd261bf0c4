"""A small JSON-completion client over litellm: timeout, bounded retries, usage accounting.

litellm is imported inside the call (with its model cost map read locally), so importing this
module stays cheap for code locations and the API. Any litellm model string works; a bare Ollama
tag such as ``llama3.2:latest`` means ``ollama/llama3.2:latest``. litellm enforces the timeout;
tenacity (the library litellm's own ``num_retries`` runs on) retries connection errors and HTTP 5xx
with exponential backoff. litellm's ``num_retries`` itself is not used: it would also retry
timeouts and 4xx (a slow model would only be asked again to be slow, and a small server would be
flooded), and it hides the failed attempts, whose reasons the plan documents record.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tenacity

from fitness_core.settings import Settings

log = logging.getLogger(__name__)

OLLAMA_PROVIDERS = ("ollama", "ollama_chat")
OLLAMA_ENDPOINTS = ("/api/generate", "/api/chat", "/api")
# Ollama's default context (2-4k tokens) is too small for a repair turn (prompt + first plan +
# violations) and silently drops the start of the prompt; 8k holds it with room to spare.
OLLAMA_NUM_CTX = 8192


def normalize_model(model: str) -> str:
    """A litellm model string: a bare Ollama tag gets the ``ollama/`` provider prefix."""
    model = model.strip()
    if not model:
        raise ValueError("the LLM model name is empty (set OLLAMA_MODEL)")
    return model if "/" in model else f"ollama/{model}"


def normalize_api_base(url: str) -> str:
    """The Ollama base URL, also from the legacy ``.../api/generate`` form."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"OLLAMA_API {url!r} is not an http(s) URL")
    path = parts.path.rstrip("/")
    for endpoint in OLLAMA_ENDPOINTS:
        if path.endswith(endpoint):
            path = path[: -len(endpoint)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass(frozen=True)
class LLMReply:
    """The model's text with what it cost."""

    content: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    attempts: int
    retried: tuple[str, ...] = ()  # reasons of the failed requests before this reply


class LLMError(Exception):
    """No usable reply: ``reason`` says why in one line; attempts and time spent are kept."""

    def __init__(self, reason: str, attempts: int, latency_s: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
        self.latency_s = latency_s


def _one_line(text: object, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class LLMClient:
    """JSON chat completions from one model; ``complete_json`` is the only call planning makes."""

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        *,
        timeout_s: float = 120.0,
        max_retries: int = 2,
        backoff_s: float = 1.0,
        temperature: float = 0.2,
    ) -> None:
        self.model = normalize_model(model)
        provider = self.model.split("/", 1)[0]
        # The Ollama URL and options only apply to Ollama models; other providers use their own.
        self.is_ollama = provider in OLLAMA_PROVIDERS
        self.api_base = normalize_api_base(api_base) if api_base and self.is_ollama else None
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.temperature = temperature

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> LLMClient:
        """The client for ``OLLAMA_MODEL`` at ``OLLAMA_API``."""
        return cls(settings.ollama_model, settings.ollama_api, **options)

    def __repr__(self) -> str:
        return f"LLMClient(model={self.model!r}, api_base={self.api_base!r}, timeout_s={self.timeout_s})"

    def _request(self, messages: list[dict[str, str]]) -> Any:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.suppress_debug_info = True
        return litellm.completion(
            model=self.model,
            messages=messages,
            api_base=self.api_base,
            response_format={"type": "json_object"},
            temperature=self.temperature,
            timeout=self.timeout_s,
            num_retries=0,
            max_retries=0,
            drop_params=True,
            **({"num_ctx": OLLAMA_NUM_CTX} if self.is_ollama else {}),
        )

    def _classify(self, exc: Exception) -> tuple[str, bool]:
        """(one-line reason, retryable) for a failed request."""
        import litellm

        if isinstance(exc, litellm.Timeout):
            return f"timeout after {self.timeout_s:g} s", False
        status = getattr(exc, "status_code", None)
        if isinstance(exc, litellm.APIConnectionError):
            return f"connection error: {_one_line(exc)}", True
        if isinstance(status, int):
            return f"HTTP {status}: {_one_line(exc)}", status >= 500
        return f"{type(exc).__name__}: {_one_line(exc)}", False

    def complete_json(self, messages: list[dict[str, str]]) -> LLMReply:
        """The model's reply to ``messages`` with JSON output requested; raises :class:`LLMError`."""
        started = time.perf_counter()
        retried: list[str] = []

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, Exception) and self._classify(exc)[1]

        def note_retry(state: tenacity.RetryCallState) -> None:  # a failure that will be retried
            exc = state.outcome.exception() if state.outcome else None
            reason = self._classify(exc)[0] if isinstance(exc, Exception) else "unknown error"
            log.warning(
                "llm request failed",
                extra={"model": self.model, "attempt": state.attempt_number, "reason": reason},
            )
            retried.append(reason)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=tenacity.wait_exponential(multiplier=self.backoff_s, min=0, max=60),
            retry=tenacity.retry_if_exception(retryable),
            before_sleep=note_retry,
            reraise=True,
        )
        try:
            response = retrying(self._request, messages)
        except Exception as exc:  # litellm maps every provider failure onto its exceptions
            attempts = retrying.statistics.get("attempt_number", 1)
            reason = self._classify(exc)[0]
            log.warning(
                "llm request failed", extra={"model": self.model, "attempt": attempts, "reason": reason}
            )
            raise LLMError(reason, attempts, time.perf_counter() - started) from exc
        usage = getattr(response, "usage", None)
        content = response.choices[0].message.content or ""
        return LLMReply(
            content=content,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            latency_s=time.perf_counter() - started,
            attempts=retrying.statistics.get("attempt_number", 1),
            retried=tuple(retried),
        )

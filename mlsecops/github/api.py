"""A small GitHub REST client: retries what is worth retrying, explains what is not."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from mlsecops.errors import MlsecopsError

USER_AGENT = "mlsecops-action"


class GitHubApiError(MlsecopsError):
    """A REST call that failed for good; `status` is the HTTP status (0: no response)."""

    def __init__(self, problem: str, fix: str = "", status: int = 0) -> None:
        super().__init__(problem, fix)
        self.status = status


class GitHubApi:
    """GitHub's REST API with one token: retries with backoff, one session, a timeout per call."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        retries: int = 4,
        backoff_seconds: float = 2.0,
        timeout_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.timeout_seconds = timeout_seconds
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": USER_AGENT,
            }
        )

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request; retry 5xx, 429 and secondary rate limits with backoff."""
        url = path if path.startswith("http") else f"{self.api_url}{path}"
        for attempt in range(self.retries + 1):
            try:
                response = self.session.request(method, url, timeout=self.timeout_seconds, **kwargs)
            except requests.RequestException as exc:
                if attempt == self.retries:
                    raise GitHubApiError(
                        f"GitHub API {method} {path} failed: {exc}", "check the network"
                    ) from exc
                self.sleep(self._backoff(attempt))
                continue
            wait = self._retry_wait(response, attempt)
            if wait is None or attempt == self.retries:
                return response
            self.sleep(wait)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _backoff(self, attempt: int) -> float:
        return float(self.backoff_seconds * (2**attempt))

    def _retry_wait(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the response is final."""
        status = response.status_code
        if status >= 500:
            return self._backoff(attempt)
        if status not in (403, 429):
            return None
        retry_after = response.headers.get("retry-after", "")
        if retry_after.isdigit():
            return float(retry_after)
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = response.headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                return max(1.0, float(reset) - time.time())
        if status == 429 or "rate limit" in response.text.lower():
            return self._backoff(attempt)
        return None  # a plain 403: a permission problem, retrying will not help

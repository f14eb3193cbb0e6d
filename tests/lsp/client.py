"""A small Language Server Protocol client for end-to-end tests of editor support.

It speaks JSON-RPC 2.0 with ``Content-Length`` framing over a child process's stdin/stdout, the
way an editor talks to ``yaml-language-server --stdio``.  It exists so the tests can prove that the
project's JSON Schema really drives completion, hover and diagnostics in a real server, without
any Python dependency beyond the standard library.

Design notes:

* One background thread reads the server's stdout.  It answers server-to-client requests at once
  (an unanswered ``workspace/configuration`` would leave the server without settings forever),
  stores responses and ``textDocument/publishDiagnostics`` notifications, and wakes waiters
  through a single condition variable.
* Every wait has a timeout, and a server that exits wakes every waiter, so a hung or crashed
  server fails the test with the tail of its stderr instead of hanging the run.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Self, TypeVar

JsonObject = dict[str, Any]

_T = TypeVar("_T")

DEFAULT_TIMEOUT: Final = 10.0
"""Seconds to wait for any single answer; generous for a cold ``node`` start on a busy CI box."""

_LOG_TAIL: Final = 40
"""How many stderr lines and ``window/logMessage`` texts to keep for error messages."""

_METHOD_NOT_FOUND: Final = -32601

# Server-to-client requests that an editor may answer with ``null``: they only ask the client to
# register a feature, show progress or refresh a view, none of which matters to a test.
_NULL_RESULT_REQUESTS: Final = frozenset(
    {
        "client/registerCapability",
        "client/unregisterCapability",
        "window/workDoneProgress/create",
        "window/showMessageRequest",
        "window/showDocument",
        "workspace/codeLens/refresh",
        "workspace/semanticTokens/refresh",
        "workspace/inlayHint/refresh",
        "workspace/inlineValue/refresh",
        "workspace/diagnostic/refresh",
        "workspace/foldingRange/refresh",
    }
)


class LspError(RuntimeError):
    """The server answered with an error, timed out, exited, or broke the protocol."""


class LanguageServerClient:
    """Drive one language server process over stdio.

    ``settings`` is the editor's configuration tree (for example ``{"yaml": {...}}``); it is what
    ``workspace/configuration`` requests are answered from, which is the only way
    yaml-language-server picks up settings.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        root: Path,
        settings: Mapping[str, Any],
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._command = list(command)
        self._root = root
        self._settings = settings
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._write_lock = threading.Lock()
        self._changed = threading.Condition()
        # Everything below is guarded by ``_changed``.
        self._responses: dict[int, JsonObject] = {}
        self._diagnostics: dict[str, list[JsonObject]] = {}
        self._configuration_sections: list[str] = []
        self._server_requests: list[str] = []
        self._server_errors: list[str] = []
        self._reader_error: BaseException | None = None
        self._exited = False
        self._log: deque[str] = deque(maxlen=_LOG_TAIL)
        self._stderr: deque[str] = deque(maxlen=_LOG_TAIL)
        self._process: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []

    # ----------------------------------------------------------------------------------------
    # Life cycle
    # ----------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> JsonObject:
        """Spawn the server, run the ``initialize`` handshake and wait for its settings pull.

        Returns the server's ``InitializeResult``.  Waiting for ``workspace/configuration`` to be
        answered matters: yaml-language-server serves completion without waiting for its settings,
        so a request sent too early would see no schema associations.
        """
        self._process = subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self._root,
        )
        try:
            self._spawn(self._read_stdout, self._process.stdout, "lsp-stdout")
            self._spawn(self._read_stderr, self._process.stderr, "lsp-stderr")
            result = self.request("initialize", self._initialize_params())
            self.notify("initialized", {})
            self._wait(
                lambda: "yaml" in self._configuration_sections or None,
                "the server to pull the 'yaml' settings through workspace/configuration",
            )
            if not isinstance(result, dict):
                raise LspError(f"initialize returned {result!r}, expected an object")
        except BaseException:
            self.stop()  # no orphaned node process when the handshake fails
            raise
        return result

    def stop(self) -> int | None:
        """Shut down politely (``shutdown`` then ``exit``); kill the process if that fails.

        Returns the exit code (0 after a clean shutdown, negative if it had to be killed) so a
        caller can insist on a clean exit.  Always reaps the process, joins the reader threads
        and closes the pipes, so no ``ResourceWarning`` escapes into a run that treats warnings
        as errors.
        """
        process = self._process
        if process is None:
            return None
        try:
            if process.poll() is None:
                grace = min(self._timeout, 5.0)
                with contextlib.suppress(LspError, OSError):
                    self.request("shutdown", None, timeout=grace)
                    self.notify("exit", None)
                try:
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5.0)
        finally:
            # Closing stdin lets a server that ignored ``exit`` see EOF; the readers end at EOF.
            self._close_pipes(process.stdin)
            for thread in self._threads:
                thread.join(timeout=5.0)
            self._close_pipes(process.stdout, process.stderr)
            self._process = None
        return process.returncode

    # ----------------------------------------------------------------------------------------
    # LSP requests used by the tests
    # ----------------------------------------------------------------------------------------

    def did_open(self, path: Path, text: str, *, language_id: str = "yaml") -> str:
        """Open ``path`` with ``text`` (as the editor buffer) and return its document URI."""
        uri = path.resolve().as_uri()
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language_id, "version": 1, "text": text}},
        )
        return uri

    def completion(self, uri: str, line: int, character: int) -> list[JsonObject]:
        """Return the completion items at a 0-based position, whichever shape the server uses."""
        result = self.request("textDocument/completion", _position_params(uri, line, character))
        if result is None:
            return []
        items = result.get("items", []) if isinstance(result, dict) else result
        if not isinstance(items, list):
            raise LspError(f"unexpected completion result: {result!r}")
        return items

    def hover(self, uri: str, line: int, character: int) -> str:
        """Return the hover text at a 0-based position, or ``""`` when there is none."""
        result = self.request("textDocument/hover", _position_params(uri, line, character))
        if not result:
            return ""
        return _markup_text(result["contents"])

    def wait_for_diagnostics(self, uri: str, timeout: float | None = None) -> list[JsonObject]:
        """Block until the server has published diagnostics for ``uri`` and return them.

        yaml-language-server validates 200 ms after a change, then publishes once, so the first
        notification after ``didOpen`` is the answer for that document version.
        """
        return self._wait(
            lambda: self._diagnostics.get(uri),
            f"diagnostics for {uri}",
            timeout,
        )

    @property
    def configuration_sections(self) -> list[str]:
        """The sections the server asked for through ``workspace/configuration``, in order."""
        with self._changed:
            return list(self._configuration_sections)

    @property
    def server_errors(self) -> list[str]:
        """Errors the server caught and reported as ``telemetry/event`` (``*.error``), in order.

        A response and the telemetry sent before it arrive in order on stdout, so after a
        request returns, any error it caused is already here.
        """
        with self._changed:
            return list(self._server_errors)

    @property
    def server_requests(self) -> list[str]:
        """Methods of every server-to-client request seen so far, in order."""
        with self._changed:
            return list(self._server_requests)

    # ----------------------------------------------------------------------------------------
    # JSON-RPC plumbing
    # ----------------------------------------------------------------------------------------

    def request(self, method: str, params: Any, *, timeout: float | None = None) -> Any:
        """Send a request and wait for its response; raise :class:`LspError` on error."""
        request_id = next(self._ids)
        self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        response = self._wait(
            lambda: self._responses.pop(request_id, None), f"a response to {method}", timeout
        )
        if "error" in response:
            raise LspError(f"{method} failed: {response['error']}")
        return response.get("result")

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (no response expected)."""
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def _send(self, message: JsonObject) -> None:
        """Frame and write one message; a lock keeps the reader thread's replies whole."""
        process = self._require_process()
        body = json.dumps(message).encode("utf-8")
        header = f"Content-Length: {len(body)}\r\n\r\n".encode("ascii")
        stdin = process.stdin
        if stdin is None:
            raise LspError("server stdin is closed")
        with self._write_lock:
            try:
                stdin.write(header + body)
                stdin.flush()
            except (BrokenPipeError, ValueError) as error:
                raise LspError(f"cannot write to the server: {error}{self._tails()}") from error

    def _wait(self, ready: Callable[[], _T | None], what: str, timeout: float | None = None) -> _T:
        """Wait until ``ready()`` (called under the lock) returns a value, or fail loudly."""
        limit = self._timeout if timeout is None else timeout
        found: list[_T] = []

        def settled() -> bool:
            value = ready()
            if value is not None:
                found.append(value)
                return True
            return self._exited or self._reader_error is not None

        with self._changed:
            if not self._changed.wait_for(settled, timeout=limit):
                raise LspError(f"timed out after {limit:.1f}s waiting for {what}{self._tails()}")
            if found:
                return found[0]
            reason = self._reader_error or "the server exited"
        raise LspError(f"{reason} while waiting for {what}{self._tails()}")

    def _read_stdout(self, stdout: IO[bytes]) -> None:
        """Reader thread: parse framed messages until EOF and dispatch each one."""
        try:
            while (message := _read_message(stdout)) is not None:
                self._dispatch(message)
        except Exception as error:  # reported to waiters rather than lost in a thread
            with self._changed:
                self._reader_error = error
        finally:
            with self._changed:
                self._exited = True
                self._changed.notify_all()

    def _read_stderr(self, stderr: IO[bytes]) -> None:
        """Drain stderr so the server never blocks on a full pipe; keep the tail for errors."""
        for raw in stderr:
            with self._changed:
                self._stderr.append(raw.decode("utf-8", "replace").rstrip())

    def _dispatch(self, message: JsonObject) -> None:
        """Route one incoming message: server request, notification or response."""
        method = message.get("method")
        if method is not None and "id" in message:
            self._answer(message["id"], method, message.get("params"))
            return
        with self._changed:
            if method == "textDocument/publishDiagnostics":
                params = message["params"]
                self._diagnostics[params["uri"]] = params["diagnostics"]
            elif method in {"window/logMessage", "window/showMessage"}:
                self._log.append(str(message["params"].get("message", "")))
            elif method == "telemetry/event":
                self._record_telemetry(message["params"])
            elif method is None and isinstance(message.get("id"), int):
                self._responses[message["id"]] = message
            self._changed.notify_all()

    def _record_telemetry(self, event: Any) -> None:
        """Keep error events: yaml-language-server reports the exceptions it swallows (a
        completion that died half-way, a hover that failed) only as telemetry, so without them
        a truncated answer looks like a schema problem.  Called with the lock held."""
        if not isinstance(event, dict):
            return
        name = str(event.get("name", ""))
        properties = event.get("properties")
        error = properties.get("error") if isinstance(properties, dict) else None
        text = f"{name}: {error}" if isinstance(error, str) else json.dumps(event)
        self._log.append(f"telemetry {text}")
        if name.endswith(".error"):
            self._server_errors.append(text)

    def _answer(self, request_id: Any, method: str, params: Any) -> None:
        """Answer a server-to-client request the way a minimal editor would."""
        reply: JsonObject = {"jsonrpc": "2.0", "id": request_id}
        if method == "workspace/configuration":
            items = params.get("items", []) if isinstance(params, dict) else []
            sections = [str(item.get("section", "")) for item in items]
            reply["result"] = [_lookup(self._settings, section) for section in sections]
        elif method in _NULL_RESULT_REQUESTS:
            sections = []
            reply["result"] = None
        else:
            sections = []
            reply["error"] = {"code": _METHOD_NOT_FOUND, "message": f"unhandled: {method}"}
        self._send(reply)
        with self._changed:
            self._server_requests.append(method)
            self._configuration_sections.extend(sections)
            self._changed.notify_all()

    # ----------------------------------------------------------------------------------------
    # Helpers
    # ----------------------------------------------------------------------------------------

    def _initialize_params(self) -> JsonObject:
        """Capabilities of a plain editor: pull configuration, Markdown docs, snippets."""
        root_uri = self._root.resolve().as_uri()
        markup = ["markdown", "plaintext"]
        return {
            "processId": None,
            "clientInfo": {"name": "pipelinegen-tests"},
            "locale": "en",
            "rootUri": root_uri,
            "workspaceFolders": [{"uri": root_uri, "name": self._root.name}],
            "capabilities": {
                "workspace": {"configuration": True, "workspaceFolders": True},
                "textDocument": {
                    "synchronization": {"dynamicRegistration": False},
                    "completion": {
                        "completionItem": {"snippetSupport": True, "documentationFormat": markup}
                    },
                    "hover": {"contentFormat": markup},
                    "publishDiagnostics": {"relatedInformation": True},
                },
            },
        }

    def _spawn(
        self, target: Callable[[IO[bytes]], None], stream: IO[bytes] | None, name: str
    ) -> None:
        if stream is None:
            raise LspError(f"{name} is not a pipe")
        thread = threading.Thread(target=target, args=(stream,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _require_process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise LspError("the server is not running")
        return self._process

    def _tails(self) -> str:
        """Recent server output, appended to errors so a failure explains itself."""
        with self._changed:
            stderr = "\n".join(self._stderr)
            log = "\n".join(self._log)
        return f"\n--- server stderr (tail) ---\n{stderr}\n--- server log (tail) ---\n{log}"

    @staticmethod
    def _close_pipes(*streams: IO[bytes] | None) -> None:
        for stream in streams:
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()


def _read_message(stream: IO[bytes]) -> JsonObject | None:
    """Read one ``Content-Length``-framed JSON-RPC message; ``None`` at end of stream."""
    length: int | None = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.rstrip(b"\r\n")
        if not line:
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        raise LspError("message header without Content-Length")
    body = stream.read(length)
    if len(body) != length:
        return None
    message = json.loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise LspError(f"expected a JSON object, got {message!r}")
    return message


def _lookup(settings: Mapping[str, Any], section: str) -> Any:
    """Resolve a dotted configuration section (``yaml.format``) like VS Code does; else null."""
    node: Any = settings
    for part in section.split(".") if section else []:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _position_params(uri: str, line: int, character: int) -> JsonObject:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def _markup_text(contents: Any) -> str:
    """Flatten the three shapes of hover ``contents`` (MarkupContent, MarkedString, list)."""
    if isinstance(contents, str):
        return contents
    if isinstance(contents, dict):
        return str(contents.get("value", ""))
    if isinstance(contents, list):
        return "\n".join(_markup_text(part) for part in contents)
    return ""


def yaml_language_server_settings(schemas: Mapping[str, Sequence[str]] | None = None) -> JsonObject:
    """Editor settings for yaml-language-server as the tests (and an offline editor) want them.

    The Schema Store catalog and the Kubernetes CRD catalog are disabled because the machine is
    offline and the tests must depend on nothing but the project's own schema.
    """
    yaml: JsonObject = {
        "validate": True,
        "hover": True,
        "completion": True,
        "schemaStore": {"enable": False},
        "kubernetesCRDStore": {"enable": False},
        "schemas": {uri: list(globs) for uri, globs in (schemas or {}).items()},
    }
    return {"yaml": yaml, "http": {"proxy": "", "proxyStrictSSL": False}, "[yaml]": {}}

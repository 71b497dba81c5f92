"""The ``labkit`` command: ``serve`` runs the service, ``demo`` the main job, ``experiment`` a network sweep."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from ._version import __version__
from .errors import LabkitError
from .protocol.access_code import ACCESS_CODE_ENV
from .protocol.messages import IceTransportPolicy
from .service.limits import ServiceLimits

if TYPE_CHECKING:
    from .service import RelayConfiguration, SfuConfiguration

TURN_SECRET_ENV = "LABKIT_TURN_SECRET"
SFU_SECRET_ENV = "LABKIT_SFU_SECRET"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description="Voice and video calling for Jupyter notebooks.")
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the token and signaling service")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind (default 8080; 0 picks a free one)")
    serve.add_argument(
        "--connection-string",
        default=None,
        help="ACS connection string: back identities with Azure (default: $LABKIT_ACS_CONNECTION_STRING, else local)",
    )
    serve.add_argument("-q", "--quiet", action="store_true", help="do not log each request")
    serve.add_argument("--certfile", type=Path, help="a PEM certificate: serve HTTPS (browsers need it off localhost)")
    serve.add_argument("--keyfile", type=Path, help="the certificate's PEM private key (if not in --certfile)")
    serve.add_argument(
        "--ice-server",
        action="append",
        default=[],
        metavar="URL",
        help="a STUN or TURN server for every agent, such as turn:turn.example.org:3478 (repeatable)",
    )
    serve.add_argument(
        "--turn-secret",
        default=os.environ.get(TURN_SECRET_ENV),
        help=f"the TURN server's static-auth-secret, which signs each agent's TURN credentials (${TURN_SECRET_ENV})",
    )
    serve.add_argument(
        "--ice-transport-policy",
        choices=get_args(IceTransportPolicy),
        default="all",
        help="relay: every call goes through the TURN server (default all)",
    )
    serve.add_argument(
        "--access-code",
        default=os.environ.get(ACCESS_CODE_ENV),
        help=f"a code that the token endpoint and user list require (${ACCESS_CODE_ENV}); "
        "needed off loopback unless --open",
    )
    serve.add_argument(
        "--open",
        action="store_true",
        help="off loopback, let anyone who reaches the service get tokens (a trusted LAN only)",
    )
    serve.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change one of the per-client limits, such as invitations_per_second=50 (repeatable; "
        "see ServiceLimits in docs/protocol.md)",
    )
    serve.add_argument(
        "--sfu",
        choices=("janus",),
        default=None,
        help="route group calls through an SFU: start a Janus of the service's own (Debian package janus)",
    )
    serve.add_argument(
        "--sfu-url",
        action="append",
        default=[],
        metavar="URL",
        help="use the Janus already running here (its HTTP API, /janus); repeat for several instances",
    )
    serve.add_argument(
        "--sfu-instances",
        type=int,
        default=1,
        metavar="N",
        help="run N Janus processes of the service's own; each room lives on the least loaded (default 1)",
    )
    serve.add_argument(
        "--sfu-secret",
        default=os.environ.get(SFU_SECRET_ENV),
        help=f"the api_secret of the Janus at --sfu-url (${SFU_SECRET_ENV}); it never leaves the service",
    )
    serve.add_argument(
        "--sfu-above",
        type=int,
        default=None,
        metavar="N",
        help="a group call goes through the SFU once it has more than N members (default 4; 0: every group call)",
    )
    serve.add_argument("--sfu-port", type=int, default=0, help="the HTTP port of the service's own Janus (default any)")
    serve.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the signing key is kept across restarts (default: $LABKIT_STATE_DIR, else ~/.local/state/labkit)",
    )

    demo = commands.add_parser("demo", help="run the demo: a narrated video call between two agents")
    demo.add_argument("--endpoint", default=None, help="a running service (http://host:port), not an embedded one")
    demo.add_argument("--seconds", type=float, default=15.0, help="how long the call lasts (default 15)")
    demo.add_argument("--group", type=int, default=0, metavar="N", help="a group call of N agents (2 to 9) instead")
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help="where pictures go (default demo-output/)")

    experiment = commands.add_parser(
        "experiment",
        help="sweep a network condition over real calls and measure the far end (the network lab, headless)",
        description=(
            "One fresh 1:1 video call per value: Alice sends through the condition, Bob measures video rate, "
            "freezes, latency, audio presence and concealment. Results go to a CSV and a summary figure."
        ),
    )
    experiment.add_argument(
        "--vary", default="loss", choices=_parameters(), help="the condition to sweep (default loss)"
    )
    experiment.add_argument(
        "--values", default="0,0.05,0.1,0.2,0.3", help="comma-separated values (default 0,0.05,0.1,0.2,0.3)"
    )
    experiment.add_argument("--seconds", type=float, default=4.0, help="seconds measured per point (default 4)")
    experiment.add_argument(
        "--receive-path",
        default="labkit",
        choices=("labkit", "aiortc", "both"),
        help="whose jitter buffers Bob uses (default labkit; both: each point twice)",
    )
    experiment.add_argument("--endpoint", default=None, help="a running service, not an embedded one")
    experiment.add_argument("--csv", type=Path, default=Path("experiment.csv"), help="results (default experiment.csv)")
    experiment.add_argument("--plot", type=Path, default=None, help="also save the summary figure (a .png)")

    args = parser.parse_args(argv)
    if args.command == "experiment":
        return _experiment(args)
    if args.command == "serve":
        from .service import RelayConfiguration

        try:
            relay = RelayConfiguration(
                tuple(args.ice_server), args.turn_secret, transport_policy=args.ice_transport_policy
            )
        except ValueError as exc:
            print(f"labkit serve: {exc}", file=sys.stderr)
            return 2
        try:
            limits = parse_limits(args.limit)
            sfu = _sfu_configuration(args)
        except ValueError as exc:
            print(f"labkit serve: {exc}", file=sys.stderr)
            return 2
        return _serve(
            args.host,
            args.port,
            args.connection_string,
            quiet=args.quiet,
            certfile=args.certfile,
            keyfile=args.keyfile,
            relay=relay,
            access_code=args.access_code,
            open_to_all=args.open,
            state_dir=args.state_dir,
            limits=limits,
            sfu=sfu,
        )
    from .demo import run_demo

    try:
        return asyncio.run(run_demo(endpoint=args.endpoint, seconds=args.seconds, group=args.group, out=args.out))
    except ValueError as refused:
        print(f"labkit demo: {refused}", file=sys.stderr)
        return 2


def _parameters() -> tuple[str, ...]:
    from .network_lab.experiment import PARAMETERS

    return PARAMETERS


def _progress(done: int, total: int, label: str) -> None:
    """A progress bar on standard error."""
    width = 30
    filled = round(width * done / total)
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<32}", end="", file=sys.stderr, flush=True)
    if done == total:
        print(file=sys.stderr)


def _experiment(args: argparse.Namespace) -> int:
    from .media.receive_path import Path as ReceivePath
    from .network_lab.experiment import plot_sweep, sweep, write_csv

    try:
        values = [float(value) for value in args.values.split(",") if value.strip()]
    except ValueError:
        print(f"labkit experiment: --values takes numbers separated by commas, not {args.values!r}", file=sys.stderr)
        return 2
    paths: tuple[ReceivePath, ...] = ("labkit", "aiortc") if args.receive_path == "both" else (args.receive_path,)
    print(f"labkit experiment: {args.vary} over {values}, {args.seconds:g} s each, receive path {'/'.join(paths)}")
    try:
        results = asyncio.run(sweep(args.vary, values, args.seconds, paths, args.endpoint, _progress))
    except ValueError as error:  # ArgumentError, or a NetworkConditions out of range
        print(f"labkit experiment: {error}", file=sys.stderr)
        return 2
    header = f"{'value':>8} {'path':>7} {'fps':>6} {'frozen s':>8} {'p50 ms':>7} {'audio %':>7} {'concealed %':>11}"
    print(header)
    for r in results:
        p50 = f"{r.latency_p50_ms:7.1f}" if r.latency_p50_ms is not None else f"{'-':>7}"
        print(
            f"{r.value:8g} {r.receive_path:>7} {r.frames_per_second:6.1f} {r.freeze_seconds:8.2f} {p50} "
            f"{100 * r.audio_present:7.1f} {100 * r.audio_concealed:11.1f}"
        )
    print(f"results: {write_csv(results, args.csv)}")
    if args.plot is not None:
        plot_sweep(results).savefig(args.plot, dpi=100)
        print(f"figure: {args.plot}")
    return 0


def _serve(
    host: str,
    port: int,
    connection_string: str | None,
    *,
    quiet: bool,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    relay: RelayConfiguration | None = None,
    access_code: str | None = None,
    open_to_all: bool = False,
    state_dir: Path | None = None,
    limits: ServiceLimits | None = None,
    sfu: SfuConfiguration | None = None,
) -> int:
    from .identity import create_identity_client
    from .identity.signing_key import persistent_secret
    from .service import Server
    from .service.access import check_exposure

    try:
        check_exposure(host, access_code, open_to_all)
    except ValueError as exc:
        print(f"labkit serve: {exc}", file=sys.stderr)
        return 2

    context = None
    if certfile is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(certfile, keyfile)
        except (OSError, ssl.SSLError) as exc:
            print(f"labkit serve: cannot use the certificate {certfile}: {exc}", file=sys.stderr)
            return 2

    _raise_file_limit()
    identity = create_identity_client(
        connection_string, secret=None if connection_string else persistent_secret(state_dir)
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if quiet:
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    async def run() -> None:
        server = Server(
            host,
            port,
            identity,
            access_log=True,
            ssl_context=context,
            relay=relay,
            access_code=access_code,
            open_to_all=open_to_all,
            limits=limits,
            sfu=sfu,
        )
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # before the banner: a signal right after it stops cleanly
            loop.add_signal_handler(sig, stop.set)
        print(
            f"labkit service on {server.url} (web app: {server.url}/, token: POST {server.url}/api/token,"
            f" agents: {server.url}/ws)",
            flush=True,
        )
        await stop.wait()
        print("labkit service shutting down", flush=True)
        await server.stop()

    try:
        asyncio.run(run())
    except LabkitError as exc:  # the SFU could not start or be reached
        print(f"labkit serve: {exc.message}" + (f" {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"labkit serve: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def _sfu_configuration(args: argparse.Namespace) -> SfuConfiguration | None:
    """``--sfu``, ``--sfu-url``, ``--sfu-secret``, ``--sfu-above``, ``--sfu-port`` as one; ``ValueError`` if at odds."""
    from .service import DEFAULT_SFU_ABOVE, SfuConfiguration

    if args.sfu is None and not args.sfu_url:
        if args.sfu_above is not None or args.sfu_secret:
            raise ValueError("--sfu-above and --sfu-secret need an SFU: give --sfu janus or --sfu-url")
        return None
    if args.sfu_url and (args.sfu_port or args.sfu_instances != 1):
        raise ValueError("--sfu-port and --sfu-instances are for the service's own Janus, not those at --sfu-url")
    above = args.sfu_above if args.sfu_above is not None else DEFAULT_SFU_ABOVE
    return SfuConfiguration(
        urls=tuple(args.sfu_url),
        api_secret=args.sfu_secret,
        above=above,
        port=args.sfu_port,
        instances=args.sfu_instances,
    )


def parse_limits(settings: Sequence[str]) -> ServiceLimits:
    """``ServiceLimits`` with each ``name=value`` of ``settings`` applied; ``ValueError`` names a bad one."""
    limits = ServiceLimits()
    known = {f.name: f for f in dataclasses.fields(ServiceLimits)}
    changes: dict[str, float | int] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in known:
            raise ValueError(f"--limit {setting!r}: no limit {name!r}; known: {', '.join(known)}")
        kind = int if isinstance(getattr(limits, name), int) else float
        try:
            number = kind(value)
        except ValueError:
            raise ValueError(
                f"--limit {setting!r}: {value!r} is not a{'n integer' if kind is int else ' number'}"
            ) from None
        if number <= 0:
            raise ValueError(f"--limit {setting!r}: must be above 0")
        changes[name] = number
    return dataclasses.replace(limits, **changes)  # type: ignore[arg-type]


def _raise_file_limit() -> None:
    """A standalone service may open as many files as the system allows it (the soft limit up to the hard one)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


if __name__ == "__main__":
    raise SystemExit(main())

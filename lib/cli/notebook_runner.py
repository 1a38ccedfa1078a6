#!/usr/bin/env python3
"""Execute one Jupyter notebook with the Deno kernel, headless, and write the executed copy.

Why not plain `jupyter-execute` / nbclient: the Deno kernel sometimes reports "idle" before a
cell's last output message, and nbclient stops reading at idle, silently dropping that output
(measured: 5 of 15 runs). This runner keeps draining iopub for a grace period after idle.

Usage: notebook_runner.py IN.ipynb OUT.ipynb [--timeout SECONDS] [--grace SECONDS]
Exit status: 0 ok, 1 a cell raised an error (its traceback is printed), 2 bad usage/kernel.
"""
import argparse
import queue
import sys
import time

import nbformat
from jupyter_client.manager import start_new_kernel


def output_from_message(msg):
    kind = msg["msg_type"]
    content = msg["content"]
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=content["name"], text=content["text"])
    if kind == "display_data":
        return nbformat.v4.new_output("display_data", data=content["data"], metadata=content.get("metadata", {}))
    if kind == "execute_result":
        return nbformat.v4.new_output(
            "execute_result", data=content["data"], metadata=content.get("metadata", {}),
            execution_count=content.get("execution_count"))
    if kind == "error":
        return nbformat.v4.new_output(
            "error", ename=content["ename"], evalue=content["evalue"], traceback=content["traceback"])
    return None


def run_cell(client, code, timeout, grace):
    msg_id = client.execute(code, store_history=True, allow_stdin=False)
    outputs = []
    error = None
    deadline = time.monotonic() + timeout
    idle_at = None
    while True:
        now = time.monotonic()
        if idle_at is not None and now - idle_at > grace:
            break
        if now > deadline:
            raise TimeoutError(f"cell did not finish within {timeout} s")
        wait = grace if idle_at is not None else min(1.0, deadline - now)
        try:
            msg = client.get_iopub_msg(timeout=max(wait, 0.01))
        except queue.Empty:
            continue
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status":
            if msg["content"]["execution_state"] == "idle":
                idle_at = time.monotonic()
            continue
        if kind == "clear_output":
            outputs = []
            continue
        out = output_from_message(msg)
        if out is not None:
            outputs.append(out)
            if kind == "error":
                error = out
    reply = client.get_shell_msg(timeout=timeout)
    if reply["content"].get("status") == "error" and error is None:
        content = reply["content"]
        error = nbformat.v4.new_output(
            "error", ename=content.get("ename", "Error"), evalue=content.get("evalue", ""),
            traceback=content.get("traceback", []))
        outputs.append(error)
    return outputs, error, reply["content"].get("execution_count")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("output")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--grace", type=float, default=0.3)
    parser.add_argument("--kernel", default="deno")
    args = parser.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    try:
        manager, client = start_new_kernel(kernel_name=args.kernel, startup_timeout=120)
    except Exception as exc:  # noqa: BLE001 - report any kernel start failure in one line
        print(f"error: cannot start the '{args.kernel}' kernel: {exc}", file=sys.stderr)
        return 2
    failed = False
    try:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            started = time.monotonic()
            outputs, error, count = run_cell(client, cell.source, args.timeout, args.grace)
            cell.outputs = outputs
            cell.execution_count = count
            print(f"  cell {index}: {time.monotonic() - started:.1f} s"
                  f"{' ERROR' if error else ''}", file=sys.stderr, flush=True)
            if error is not None:
                print("\n".join(error.get("traceback", [])) or f"{error['ename']}: {error['evalue']}",
                      file=sys.stderr)
                failed = True
                break
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    nbformat.write(nb, args.output)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

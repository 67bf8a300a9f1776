"""A strict, independent client for the e2e tests: Debian's python3-websockets
(10.4, its asyncio client websockets.client.connect), run by
tests/e2e/python_client.test.mjs with /usr/bin/python3 -I.

    shardcast_client.py '{"scenario": ..., "url": ..., ...}'

Prints one JSON object with what the client saw; the Node test asserts on
it. Every wait is bounded (TIMEOUT), so the script always ends.
"""
import asyncio
import base64
import json
import subprocess
import sys
import time

import websockets
import websockets.client
import websockets.exceptions

TIMEOUT = 5.0


def redis_cli(port, *args, stdin=None):
    """Run the real redis-cli. With -x it reads its last argument from
    stdin, byte for byte (a payload may hold NUL, which argv cannot)."""
    out = subprocess.run(["redis-cli", "-p", str(port), *args], input=stdin, check=True,
                         capture_output=True, timeout=TIMEOUT)
    return out.stdout


def wait_subscribed(port, channels):
    """Until Redis reports one subscriber on each channel (the node's)."""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        lines = redis_cli(port, "PUBSUB", "NUMSUB", *channels).split()
        if all(n == b"1" for n in lines[1::2]):
            return
        time.sleep(0.05)
    raise TimeoutError(f"not subscribed in Redis: {channels}")


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def deliveries(a):
    """Subscribe by ?channels= and by request, receive what redis-cli
    publishes, ping both ways, close normally."""
    out = {}
    url_ch, req_ch = a["url_channel"], a["request_channel"]
    async with websockets.client.connect(f"{a['url']}?channels={url_ch}", ping_interval=None,
                                         open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": [req_ch], "id": 1}))
        out["subscribe_reply"] = await recv_json(ws)
        wait_subscribed(a["redis_port"], [url_ch, req_ch])
        out["messages"] = []
        for ch, payload in a["publish"]:
            redis_cli(a["redis_port"], "-x", "PUBLISH", ch, stdin=base64.b64decode(payload))
            out["messages"].append(await recv_json(ws))
        pong = await ws.ping(b"py")
        await asyncio.wait_for(pong, TIMEOUT)
        out["pong"] = True
        await ws.send(json.dumps({"op": "ping", "id": "p"}))
        out["ping_reply"] = await recv_json(ws)
        out["subprotocol"] = ws.subprotocol
    out["close_code"] = ws.close_code
    return out


async def oversized(a):
    """Send one text message larger than the node allows."""
    async with websockets.client.connect(a["url"], ping_interval=None, open_timeout=TIMEOUT,
                                         close_timeout=TIMEOUT) as ws:
        await ws.send("x" * a["size"])
        try:
            while True:
                await asyncio.wait_for(ws.recv(), TIMEOUT)
        except websockets.exceptions.ConnectionClosed as e:
            return {"close_code": e.rcvd.code if e.rcvd else None}


async def handshake(a):
    """Open a connection (headers and subprotocols as given); report the
    HTTP status a refusal carried, or that it opened."""
    try:
        async with websockets.client.connect(
                a["url"], ping_interval=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT,
                extra_headers=a.get("headers"), subprotocols=a.get("subprotocols")) as ws:
            return {"open": True, "subprotocol": ws.subprotocol}
    except websockets.exceptions.InvalidStatusCode as e:
        return {"status": e.status_code, "version": e.headers.get("Sec-WebSocket-Version")}
    except websockets.exceptions.InvalidHandshake as e:
        return {"error": type(e).__name__, "message": str(e)}


SCENARIOS = {"deliveries": deliveries, "oversized": oversized, "handshake": handshake}


def main():
    a = json.loads(sys.argv[1])
    result = asyncio.run(asyncio.wait_for(SCENARIOS[a["scenario"]](a), 4 * TIMEOUT))
    result["websockets"] = websockets.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()

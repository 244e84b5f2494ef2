"""A plain publisher in another client, for comparison with Concord's outbox relay.

Publishes the bodies of a file (one `routing_key<TAB>message_id<TAB>body` per line) to an
exchange, persistent, mandatory, with publisher confirms; either waiting for each confirm in turn
(`--mode single`) or with up to `--window` confirms outstanding (`--mode window`). Prints
`rate=<messages per second>`.
"""

import argparse
import sys
import time

import pika


def read_messages(path, count):
    messages = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            routing_key, message_id, body = line.rstrip("\n").split("\t", 2)
            messages.append((routing_key, message_id, body.encode("utf-8")))
            if count and len(messages) >= count:
                break
    return messages


def properties(message_id):
    return pika.BasicProperties(
        delivery_mode=2,
        message_id=message_id,
        content_type="application/cloudevents+json",
        app_id="pika-bench",
    )


def single(url, exchange, messages):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    started = time.perf_counter()
    for routing_key, message_id, body in messages:
        channel.basic_publish(exchange, routing_key, body, properties(message_id), mandatory=True)
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


class Pipelined:
    """Keeps up to `window` messages unconfirmed, on pika's asynchronous connection."""

    def __init__(self, url, exchange, messages, window):
        self.exchange = exchange
        self.messages = messages
        self.window = window
        self.next = 0
        self.outstanding = set()
        self.nacked = 0
        self.started = None
        self.elapsed = None
        self.channel = None
        self.connection = pika.SelectConnection(
            pika.URLParameters(url), on_open_callback=self.on_open
        )

    def run(self):
        self.connection.ioloop.start()
        if self.elapsed is None:
            sys.exit("the pipelined publisher stopped before every confirm came back")
        return self.elapsed

    def on_open(self, connection):
        connection.channel(on_open_callback=self.on_channel)

    def on_channel(self, channel):
        self.channel = channel
        channel.confirm_delivery(ack_nack_callback=self.on_confirm, callback=self.on_confirm_mode)

    def on_confirm_mode(self, _frame):
        self.started = time.perf_counter()
        self.publish_more()

    def publish_more(self):
        while len(self.outstanding) < self.window and self.next < len(self.messages):
            routing_key, message_id, body = self.messages[self.next]
            self.channel.basic_publish(
                self.exchange, routing_key, body, properties(message_id), mandatory=True
            )
            self.next += 1
            self.outstanding.add(self.next)

    def on_confirm(self, frame):
        method = frame.method
        if isinstance(method, pika.spec.Basic.Nack):
            self.nacked += 1
        tag = method.delivery_tag
        if method.multiple:
            self.outstanding = {t for t in self.outstanding if t > tag}
        else:
            self.outstanding.discard(tag)
        if self.next >= len(self.messages) and not self.outstanding:
            self.elapsed = time.perf_counter() - self.started
            self.connection.close()
            self.connection.ioloop.stop()
        else:
            self.publish_more()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--bodies", required=True)
    parser.add_argument("--mode", choices=["single", "window"], required=True)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()
    messages = read_messages(args.bodies, args.count)
    if args.mode == "single":
        elapsed = single(args.url, args.exchange, messages)
    else:
        elapsed = Pipelined(args.url, args.exchange, messages, args.window).run()
    print(f"messages={len(messages)} seconds={elapsed:.3f} rate={len(messages) / elapsed:.0f}")


if __name__ == "__main__":
    main()

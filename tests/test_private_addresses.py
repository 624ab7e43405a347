"""No internal address is fetched on a feed's word (``crawler.addresses``).

127.0.0.1 serves the configured sources; 127.0.0.2 plays the internal host a feed should not
reach, and counts what reaches it. Nothing leaves 127.0.0.0/8."""

from __future__ import annotations

import ipaddress
import json

import pytest

from crawler.addresses import AddressPolicy, GuardedResolver, ip_literal, kind_of
from tests.images import picture
from tests.loopback import LoopbackServer
from tests.test_crawl import article_page, feed_item, feed_xml


@pytest.mark.parametrize("host, address", [
    ("169.254.169.254", "169.254.169.254"), ("2852039166", "169.254.169.254"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"), ("0251.0376.0251.0376", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"), ("169.254.43518", "169.254.169.254"),
    ("[::ffff:169.254.169.254]", "::ffff:a9fe:a9fe"), ("[::1]", "::1"), ("example.com", None),
    ("1e100.net", None), ("0x.example", None),
])
def test_ip_literals_in_every_spelling(host, address):
    assert ip_literal(host) == (ipaddress.ip_address(address) if address else None)


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.2", "loopback"), ("::1", "loopback"), ("10.0.0.5", "private"), ("192.168.1.1", "private"),
    ("172.16.0.1", "private"), ("fd00::1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("100.64.0.1", "shared (CGNAT)"), ("64:ff9b::a9fe:a9fe", "NAT64-mapped"), ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("240.0.0.1", "reserved"),
    ("::ffff:10.0.0.5", "private"), ("93.184.216.34", None), ("2606:4700::1111", None),
])
def test_what_kind_of_address_is_refused(address, kind):
    assert kind_of(ipaddress.ip_address(address)) == kind


def test_the_policy_allows_the_sources_hosts_and_the_networks_it_is_given():
    policy = AddressPolicy(["127.0.0.1", "rsshub.internal"], ["10.20.0.0/16"])
    assert policy.host_allowed("127.0.0.1") and policy.host_allowed("2130706433")  # 127.0.0.1 spelt in decimal
    assert policy.host_allowed("RSSHub.internal") and not policy.host_allowed("127.0.0.2")
    assert policy.refusal(ipaddress.ip_address("10.20.3.4")) is None
    assert policy.refusal(ipaddress.ip_address("::ffff:10.20.3.4")) is None
    assert policy.refusal(ipaddress.ip_address("10.21.0.1")) == "private"
    assert AddressPolicy([], True).refusal(ipaddress.ip_address("169.254.169.254")) is None


class _Receiver:
    def __init__(self):
        self.addresses, self.done = [], False

    def resolutionBegan(self, resolution):
        pass

    def addressResolved(self, address):
        self.addresses.append(address.host)

    def resolutionComplete(self):
        self.done = True


class _StubResolver:
    """A lookup that answers ``answers`` for every name, as a DNS server under an attacker's
    control could."""

    def __init__(self, answers):
        self.answers = answers

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"):
        from twisted.internet.address import IPv4Address, IPv6Address

        receiver.resolutionBegan(None)
        for host in self.answers:
            kind = IPv6Address if ":" in host else IPv4Address
            receiver.addressResolved(kind("TCP", host, portNumber))
        receiver.resolutionComplete()


class _Reactor:
    def __init__(self, answers):
        self.nameResolver = _StubResolver(answers)


@pytest.mark.parametrize("answers, kept", [
    (["127.0.0.2"], []), (["127.0.0.2", "93.184.216.34"], ["93.184.216.34"]), (["::ffff:169.254.169.254", "fe80::1"], []),
    (["10.20.0.7"], ["10.20.0.7"]),
])
def test_the_resolver_drops_what_a_name_may_not_reach(answers, kept):
    resolver = GuardedResolver(_Reactor(answers), 0, AddressPolicy(["127.0.0.1", "localhost"], ["10.20.0.0/16"]))
    receiver = _Receiver()
    resolver.resolveHostName(receiver, "internal.example", 80)
    assert receiver.addresses == kept and receiver.done
    own = _Receiver()
    resolver.resolveHostName(own, "localhost", 80)  # a source's own host: as it resolves
    assert own.addresses == answers


@pytest.fixture
def internal():
    server = LoopbackServer("127.0.0.2").start()
    yield server
    server.stop()


def _site(server, internal) -> str:
    """A feed and a list API on 127.0.0.1 that point at 127.0.0.2 in every way they can."""
    inside = f"{internal.port}"
    internal.add("/secret.png", picture(seed=3), content_type="image/png")
    internal.add("/admin", article_page("<p>内部页面</p>"))
    internal.add("/other", article_page("<p>另一个内部页面</p>"))
    server.add("/ok.png", picture(seed=5), content_type="image/png")
    images = {
        "plain": f"http://127.0.0.2:{inside}/secret.png", "decimal": f"http://2130706434:{inside}/secret.png",
        "hex": f"http://0x7f000002:{inside}/secret.png", "octal": f"http://0177.0.0.2:{inside}/secret.png",
        "mapped": f"http://[::ffff:127.0.0.2]:{inside}/secret.png", "name": f"http://localhost:{server.port}/ok.png",
    }
    items = "".join(feed_item(n, f"图{n}", f'<p>{name}</p><img src="{url}">') for n, (name, url) in enumerate(images.items()))
    items += feed_item(9, "本站图", '<p>same host</p><img src="{BASE}/ok.png">')
    server.add("/feed.xml", feed_xml(items), content_type="application/rss+xml")
    entries = [{"id": aid, "title": title, "url": url, "detail_url": url, "show_time": 1624359289, "nickname": "x", "cover": []}
               for aid, title, url in (("a1", "内部文章", f"http://127.0.0.2:{inside}/admin"),
                                       ("a2", "跳转文章", "{BASE}/jump"), ("a3", "本站文章", "{BASE}/fine"))]
    server.add("/list?page=1", json.dumps({"code": 0, "data": {"data": entries}}, ensure_ascii=False),
               content_type="application/json")
    server.add("/jump", b"", status=302, headers={"Location": f"http://127.0.0.2:{inside}/other"})
    server.add("/fine", article_page("<p>正常</p>"))
    # posts without images get a head image of this host rather than the default's public one
    return (f'[settings]\nHEADIMG_FALLBACK = "{server.base_url}/ok.png?n={{n}}"\n\n'
            f'[[sources]]\nname = "f"\nspider = "feed"\nurl = "{server.base_url}/feed.xml"\ncategories = ["站", "频道"]\n\n'
            f'[[sources]]\nname = "q"\nspider = "qutoutiao"\nurl = "{server.base_url}/list?page=1"\n'
            'categories = ["站", "列表"]\n')


def test_feeds_and_pages_cannot_reach_an_internal_host(server, internal, crawl):
    result = crawl(_site(server, internal), images=True)
    assert result.returncode == 1, result.stderr  # the refusals are failures of their posts
    assert internal.paths() == []  # nothing reached 127.0.0.2
    hosts = {headers.get("Host", "").split(":")[0] for _, _, headers in server.requests}
    assert hosts == {"127.0.0.1"}  # nor the source's host by another name (localhost)
    report = json.loads((result.data / "runs" / "latest.json").read_text())
    by_source = {s["name"]: s for s in report["sources"]}
    image_reasons = {f["url"]: f["reason"] for f in by_source["f"]["image_failures"]}
    assert len(image_reasons) == 6 and all("private address refused" in r for r in image_reasons.values()), image_reasons
    assert "localhost resolves to loopback (127.0.0.1)" in " ".join(image_reasons.values())
    assert by_source["f"]["images"]["mirrored"] == 1  # the source's own host serves its images
    articles = {f["url"]: f["reason"] for f in by_source["q"]["failures"]}
    assert len(articles) == 2 and all("private address refused" in r for r in articles.values()), articles
    posts = result.posts()
    assert len(posts) == 8 and any("127.0.0.2" in p and "secret.png" in p for p in posts.values())  # kept remote


def test_an_allowed_network_is_fetched(server, internal, crawl):
    config = _site(server, internal).replace("[settings]\n", '[settings]\nALLOW_PRIVATE_NETWORKS = ["127.0.0.2/32"]\n', 1)
    result = crawl(config, images=True)
    reached = internal.paths()
    assert {"/admin", "/other", "/secret.png"} <= set(reached), (reached, result.stderr[-2000:])
    report = json.loads((result.data / "runs" / "latest.json").read_text())
    reasons = [f["reason"] for s in report["sources"] for f in s["image_failures"] + s["failures"]]
    assert [r for r in reasons if "private address refused" in r] == [
        r for r in reasons if "localhost" in r]  # localhost is 127.0.0.1, not in the allowed network


def test_a_network_that_is_not_one_is_a_config_error(tmp_path):
    from tests.conftest import run_crawler

    config = tmp_path / "s.toml"
    config.write_text('[settings]\nALLOW_PRIVATE_NETWORKS = ["10.0.0.0/33"]\n\n[[sources]]\nname = "a"\nspider = "feed"\n'
                      'url = "http://127.0.0.1:9/f.xml"\ncategories = ["站", "频道"]\n', encoding="utf-8")
    result = run_crawler("run", "--config", str(config), "--data", str(tmp_path / "d"))
    assert result.returncode == 2 and "ALLOW_PRIVATE_NETWORKS" in result.stderr and "10.0.0.0/33" in result.stderr

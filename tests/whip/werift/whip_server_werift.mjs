// A WHIP server (RFC 9725) on werift, a pure TypeScript WebRTC stack, for
// tests/whip. Every RTP packet of the published video (after SRTP, RTX and
// NACK handling by werift; transport-cc feedback sent by werift) is forwarded to --forward host:port, where the
// test's ffmpeg depacketizes and decodes it.
//
//   node whip_server_werift.mjs PORT --forward 127.0.0.1:P [--pli-after N] [--proxy [--drop-every K]]
//                               [--remb B1,B2,...] [--ice-lite]
//
// POST /whip/<name> -> 201 + answer + Location + ETag; DELETE <Location>;
// PATCH <Location> (RFC 9725 4.3, application/trickle-ice-sdpfrag): with
// If-Match: "*" an ICE restart: the original offer with the fragment's
// ufrag/pwd and candidates goes to werift's setRemoteDescription again
// (werift restarts its ICE agent on new remote credentials), the answer's new
// ufrag/pwd and candidates come back in a fragment (200, a new ETag); with
// If-Match: the ETag, candidates go to addIceCandidate (204).
// GET /stats -> {posts, deletes, patches, sessions: [{packets, plis_sent, answer, ...}]}.
// --proxy: a UDP relay in this process stands between the two: the answer's
// candidate is its front, and werift is given its back as camrelay's only
// candidate; POST /pause drops everything through it until the next PATCH:
// a network outage with both ends alive. --drop-every K: the relay drops
// every K-th video RTP packet from camrelay the first time it passes (its
// sequence number, in the clear in SRTP, is kept) and counts those numbers
// that pass again later: camrelay's answers to werift's NACKs (no RTX here:
// werift is given no video/rtx codec, so a resent packet is the same packet).
// The relay counts the STUN Binding requests (and those with USE-CANDIDATE)
// and answers each side sends, in the session's stun.
// --remb B1,B2,...: werift computes no REMB of its own, so at the 200th,
// 250th, ... packet one REMB (RTCP PSFB, FMT 15, "REMB", built by werift's
// ReceiverEstimatedMaxBitrate and sent through its SRTCP) per bitrate in bit/s,
// each exact in REMB's 18-bit mantissa and 6-bit exponent; counted in
// remb_sent, the values in remb_bps.
import http from "node:http";
import dgram from "node:dgram";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const iceLite = args.includes("--ice-lite");
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
// --ice-lite: werift 0.22.0's own ICE agent (lib/ice, bundled) is a full agent
// only; the werift-ice package beside it (0.2.3, same author, npm dependency
// of werift) has an ICE-lite mode (RFC 8445 2.5: host candidates only, always
// controlled, sends no checks and no consent requests, answers checks, takes
// the pair the controlling agent nominates with USE-CANDIDATE). That agent is
// put in werift's place: werift is loaded through its CommonJS build (the ESM
// one is a single bundle), its ice module's Connection becomes werift-ice's in
// lite mode, and the gatherer's parameters carry iceLite, which werift's SDP
// writer turns into a=ice-lite in the answer.
const werift = iceLite ? require("werift") : await import("werift");
if (iceLite) {
  const lib = path.join(here, "node_modules", "werift", "lib");
  const ice = require(path.join(lib, "ice", "src", "ice.js"));
  const { Connection: LiteConnection } = require("werift-ice");
  ice.Connection = class extends LiteConnection {
    constructor(controlling, options) {
      super(controlling, { ...options, iceLite: true });
    }
  };
  const { RTCIceGatherer } = require(path.join(lib, "webrtc", "src", "transport", "ice.js"));
  const get = Object.getOwnPropertyDescriptor(RTCIceGatherer.prototype, "localParameters").get;
  Object.defineProperty(RTCIceGatherer.prototype, "localParameters", {
    get() {
      const p = get.call(this);
      p.iceLite = this.connection.iceLite === true;
      return p;
    },
  });
}
const { RTCPeerConnection, RTCRtpCodecParameters, ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback,
        useTransportWideCC } = werift;

const port = Number(args[0]);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const [fwdHost, fwdPort] = opt("--forward", "127.0.0.1:0").split(":");
const pliAfter = Number(opt("--pli-after", "0"));
const udp = dgram.createSocket("udp4");
const proxy = args.includes("--proxy");
const dropEvery = Number(opt("--drop-every", "0"));
const rembs = opt("--remb", "").split(",").filter((x) => x).map(Number);

// A REMB bitrate as mantissa << exponent, refusing any that is not exact.
function rembParts(bps) {
  let exp = 0, mant = bps;
  while (mant >= 1 << 18) {
    if (mant % 2) throw new Error(`REMB ${bps} bit/s is not exact in 18 bits`);
    mant /= 2;
    exp++;
  }
  return { brExp: exp, brMantissa: mant };
}
rembs.forEach(rembParts);
const sessions = new Map();
const stats = { posts: 0, deletes: 0, patches: [], sessions: [] };
let paused = false;

// A STUN message (RFC 8489: type, length, magic cookie): its type (0x0001 a
// Binding request, 0x0101 its success answer) and whether it has USE-CANDIDATE.
function stunOf(m) {
  if (m.length < 20 || m[0] > 3 || m.readUInt32BE(4) !== 0x2112a442)
    return null;
  let useCand = false;
  for (let o = 20; o + 4 <= m.length; o += 4 + ((m.readUInt16BE(o + 2) + 3) & ~3))
    useCand ||= m.readUInt16BE(o) === 0x0025;
  return { type: m.readUInt16BE(0), useCand };
}

// The STUN a relay saw, both ways: {client: {requests, use_candidate, answers}, server: {...}}.
function countStun(c, m) {
  const x = stunOf(m);
  if (x && x.type === 0x0001) {
    c.requests++;
    c.use_candidate += x.useCand ? 1 : 0;
  } else if (x && x.type === 0x0101)
    c.answers++;
}

// The UDP relay of one session: camrelay <-> front <-> back <-> werift.
function makeProxy(st, pt) {
  st.stun = { client: { requests: 0, use_candidate: 0, answers: 0 }, server: { requests: 0, use_candidate: 0,
                                                                            answers: 0 } };
  const px = { front: dgram.createSocket("udp4"), back: dgram.createSocket("udp4"), client: null, target: null,
               dropped: 0, seen: new Set(), n: 0 };
  px.front.on("message", (m, r) => {
    px.client = r;
    countStun(st.stun.client, m);
    if (paused || !px.target) return void px.dropped++;
    // RTP (not RTCP: its second byte is 200-206) of the video payload type
    if (dropEvery && m.length >= 12 && (m[0] & 0xc0) === 0x80 && (m[1] & 0x7f) === pt) {
      const seq = m.readUInt16BE(2);
      if (px.seen.has(seq)) {
        if (st.dropped_seqs.includes(seq)) st.resent_seen++;
      } else {
        px.seen.add(seq);
        if (++px.n % dropEvery === 0) {
          st.dropped_on_purpose++;
          st.dropped_seqs.push(seq);
          return;
        }
      }
    }
    px.back.send(m, px.target.port, px.target.address);
  });
  px.back.on("message", (m) => {
    countStun(st.stun.server, m);
    if (paused || !px.client) return void px.dropped++;
    px.front.send(m, px.client.port, px.client.address);
  });
  return Promise.all([new Promise((r) => px.front.bind(0, "127.0.0.1", r)),
                      new Promise((r) => px.back.bind(0, "127.0.0.1", r))]).then(() => px);
}

// werift's first IPv4 UDP host candidate becomes the relay's front.
function viaProxy(sdp, px) {
  const m = sdp.match(/^a=candidate:\S+ 1 udp \d+ (\d+\.\d+\.\d+\.\d+) (\d+) typ host.*$/m);
  if (m)
    px.target = { address: m[1], port: Number(m[2]) };
  else if (!px.target) // after an ICE restart werift keeps its sockets and lists no candidate again
    throw new Error("werift has no IPv4 host candidate");
  const cand = `a=candidate:1 1 udp 2130706431 127.0.0.1 ${px.front.address().port} typ host`;
  return sdp.replace(/^a=candidate:.*\r?\n/gm, "").replace(/^a=end-of-candidates/m, cand + "\r\na=end-of-candidates");
}

const noCands = (sdp) => sdp.replace(/^a=candidate:.*\r?\n/gm, "");
// camrelay's candidates, for werift, become the relay's back.
const backCand = (sdp, px) => noCands(sdp).replace(/^a=end-of-candidates/m,
  `a=candidate:1 1 udp 2130706431 127.0.0.1 ${px.back.address().port} typ host\r\na=end-of-candidates`);

// Host candidates are there at once; the STUN one never comes (see iceServers).
async function gathered(pc) {
  for (let i = 0, host = 0; i < 100 && pc.iceGatheringState !== "complete" && host < 10; i++) {
    await new Promise((r) => setTimeout(r, 50));
    host += /typ host/.test(pc.localDescription?.sdp ?? "") ? 1 : 0;
  }
}

// The fragment of an answer: its ICE credentials and candidates.
function fragOf(sdp) {
  const keep = sdp.split(/\r?\n/).filter((l) => /^a=(ice-ufrag|ice-pwd|candidate|end-of-candidates|ice-lite)/.test(l));
  return ["a=ice-options:trickle", "a=group:BUNDLE 0", "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:0"]
    .concat(keep.filter((l) => !/^a=(ice-lite)/.test(l))).join("\r\n") + "\r\n";
}

async function answer(offer) {
  const pc = new RTCPeerConnection({
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: "video/H264",
          clockRate: 90000,
          rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }, { type: "goog-remb" },
                         { type: "transport-cc" }],
          parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        }),
      ],
    },
    // transport-wide sequence numbers, answered with transport-cc feedback
    headerExtensions: { video: [useTransportWideCC()] },
    // werift asks a STUN server on the Internet unless given one: a loopback
    // port where nothing answers (no traffic leaves this machine)
    iceServers: [{ urls: "stun:127.0.0.1:9" }],
  });
  const st = { packets: 0, plis_sent: 0, restarts: 0, packets_at_restart: 0, trickled: [],
               dropped_on_purpose: 0, dropped_seqs: [], resent_seen: 0, remb_sent: 0, remb_bps: [] };
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe(async (rtp) => {
      st.packets++;
      if (Number(fwdPort)) udp.send(rtp.serialize(), Number(fwdPort), fwdHost);
      if (pliAfter && st.packets === pliAfter) {
        const t = pc.getTransceivers()[0];
        await t.receiver.sendRtcpPLI(track.ssrc);
        st.plis_sent++;
      }
      const k = (st.packets - 200) / 50;
      if (Number.isInteger(k) && k >= 0 && k < rembs.length) {
        const t = pc.getTransceivers()[0];
        const fb = new ReceiverEstimatedMaxBitrate({ senderSsrc: t.receiver.rtcpSsrc, mediaSsrc: 0, ssrcNum: 1,
                                                     ssrcFeedbacks: [track.ssrc], ...rembParts(rembs[k]) });
        const pkt = new RtcpPayloadSpecificFeedback({ feedback: fb });
        // what goes on the wire (before SRTCP), read back here byte by byte
        const w = pkt.serialize();
        if (w[1] !== 206 || (w[0] & 0x1f) !== 15 || w.toString("latin1", 12, 16) !== "REMB")
          throw new Error(`not a REMB: ${w.toString("hex")}`);
        await t.receiver.dtlsTransport.sendRtcp([pkt]);
        st.remb_sent++;
        st.remb_bps.push((((w[17] & 3) << 16) | (w[18] << 8) | w[19]) * 2 ** (w[17] >> 2));
      }
    });
  });
  const vpt = Number((offer.match(/^m=video \d+ \S+ (\d+)/m) || [0, -1])[1]);
  const px = proxy ? await makeProxy(st, vpt) : null;
  await pc.setRemoteDescription({ type: "offer", sdp: px ? backCand(offer, px) : offer });
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  const sdp = px ? viaProxy(pc.localDescription.sdp, px) : pc.localDescription.sdp;
  return { pc, st, sdp, offer, px };
}

// An ICE restart: the first offer with the new remote credentials.
async function restart(s, frag) {
  const ufrag = frag.match(/^a=ice-ufrag:(\S+)/m), pwd = frag.match(/^a=ice-pwd:(\S+)/m);
  if (!ufrag || !pwd) throw new Error("no a=ice-ufrag/a=ice-pwd in the fragment");
  let offer = s.offer.replace(/^a=ice-ufrag:.*$/m, `a=ice-ufrag:${ufrag[1]}`).replace(/^a=ice-pwd:.*$/m,
    `a=ice-pwd:${pwd[1]}`);
  offer = s.px ? backCand(offer, s.px) : noCands(offer);
  if (!s.px)
    offer = offer.replace(/^a=end-of-candidates/m, (frag.match(/^a=candidate:.*$/gm) || []).join("\r\n") +
                          "\r\na=end-of-candidates");
  s.st.restarts++;
  s.st.packets_at_restart = s.st.packets;
  await s.pc.setRemoteDescription({ type: "offer", sdp: offer });
  await s.pc.setLocalDescription(await s.pc.createAnswer());
  await gathered(s.pc);
  const sdp = s.px ? viaProxy(s.pc.localDescription.sdp, s.px) : s.pc.localDescription.sdp;
  return fragOf(sdp);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    if (req.method === "GET" && req.url === "/stats") {
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(JSON.stringify(stats));
    }
    if (req.method === "POST" && req.url === "/pause") {
      paused = true;
      res.writeHead(200);
      return res.end();
    }
    if (req.method === "POST") {
      stats.posts++;
      paused = false;
      try {
        const s = await answer(Buffer.concat(chunks).toString());
        const id = randomUUID();
        s.etag = `"${id}-0"`;
        sessions.set(id, s);
        s.st.answer = s.sdp;
        stats.sessions.push(s.st);
        res.writeHead(201, { "Content-Type": "application/sdp", Location: `${req.url}/${id}`, ETag: s.etag });
        return res.end(s.sdp);
      } catch (e) {
        res.writeHead(400, { "Content-Type": "text/plain" });
        return res.end(`bad offer: ${e}`);
      }
    }
    if (req.method === "PATCH") {
      const s = sessions.get(req.url.split("/").pop());
      const im = req.headers["if-match"], body = Buffer.concat(chunks).toString();
      const rec = { if_match: im ?? null, ctype: req.headers["content-type"] ?? null, body };
      stats.patches.push(rec);
      paused = false;
      const end = (code, hdr = {}, text = "") => {
        rec.answer = code;
        res.writeHead(code, hdr);
        res.end(text);
      };
      if (!s) return end(404);
      if (rec.ctype !== "application/trickle-ice-sdpfrag") return end(415);
      try {
        if (im === "*") {
          const frag = await restart(s, body);
          s.etag = `"${randomUUID()}-r"`;
          rec.frag = frag;
          return end(200, { "Content-Type": "application/trickle-ice-sdpfrag", ETag: s.etag }, frag);
        }
        if (im !== s.etag) return end(im === undefined ? 428 : 412);
        for (const c of body.match(/^a=candidate:.*$/gm) || []) {
          await s.pc.addIceCandidate({ candidate: c.slice(2), sdpMid: "0" });
          s.st.trickled.push(c.split(" ").slice(4, 8).join(" "));
        }
        return end(204);
      } catch (e) {
        rec.error = String(e);
        return end(400, { "Content-Type": "text/plain" }, `bad fragment: ${e}`);
      }
    }
    if (req.method === "DELETE") {
      const id = req.url.split("/").pop();
      const s = sessions.get(id);
      const pc = s && s.pc;
      if (!pc) {
        res.writeHead(404);
        return res.end();
      }
      sessions.delete(id);
      stats.deletes++;
      await pc.close();
      if (s.px) {
        s.px.front.close();
        s.px.back.close();
      }
      res.writeHead(200);
      return res.end();
    }
    res.writeHead(405);
    res.end();
  });
});
server.listen(port, "127.0.0.1", () => console.log("ready"));

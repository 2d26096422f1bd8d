// A WHIP server (RFC 9725) on werift, a pure TypeScript WebRTC stack, for
// tests/whip. Every RTP packet of the published video (after SRTP, RTX and
// NACK handling by werift; transport-cc feedback sent by werift) is forwarded to --forward host:port, where the
// test's ffmpeg depacketizes and decodes it.
//
//   node whip_server_werift.mjs PORT --forward 127.0.0.1:P [--pli-after N]
//
// POST /whip/<name> -> 201 + answer + Location; DELETE <Location>;
// GET /stats -> {posts, deletes, sessions: [{packets, plis_sent}]}.
import http from "node:http";
import dgram from "node:dgram";
import { randomUUID } from "node:crypto";
import { RTCPeerConnection, RTCRtpCodecParameters, useTransportWideCC } from "werift";

const args = process.argv.slice(2);
const port = Number(args[0]);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const [fwdHost, fwdPort] = opt("--forward", "127.0.0.1:0").split(":");
const pliAfter = Number(opt("--pli-after", "0"));
const udp = dgram.createSocket("udp4");
const sessions = new Map();
const stats = { posts: 0, deletes: 0, sessions: [] };

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
  });
  const st = { packets: 0, plis_sent: 0 };
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe(async (rtp) => {
      st.packets++;
      udp.send(rtp.serialize(), Number(fwdPort), fwdHost);
      if (pliAfter && st.packets === pliAfter) {
        const t = pc.getTransceivers()[0];
        await t.receiver.sendRtcpPLI(track.ssrc);
        st.plis_sent++;
      }
    });
  });
  await pc.setRemoteDescription({ type: "offer", sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  for (let i = 0; i < 100 && pc.iceGatheringState !== "complete"; i++)
    await new Promise((r) => setTimeout(r, 50));
  return { pc, st, sdp: pc.localDescription.sdp };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    if (req.method === "GET" && req.url === "/stats") {
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(JSON.stringify(stats));
    }
    if (req.method === "POST") {
      stats.posts++;
      try {
        const { pc, st, sdp } = await answer(Buffer.concat(chunks).toString());
        const id = randomUUID();
        sessions.set(id, pc);
        stats.sessions.push(st);
        res.writeHead(201, { "Content-Type": "application/sdp", Location: `${req.url}/${id}` });
        return res.end(sdp);
      } catch (e) {
        res.writeHead(400, { "Content-Type": "text/plain" });
        return res.end(`bad offer: ${e}`);
      }
    }
    if (req.method === "DELETE") {
      const id = req.url.split("/").pop();
      const pc = sessions.get(id);
      if (!pc) {
        res.writeHead(404);
        return res.end();
      }
      sessions.delete(id);
      stats.deletes++;
      await pc.close();
      res.writeHead(200);
      return res.end();
    }
    res.writeHead(405);
    res.end();
  });
});
server.listen(port, "127.0.0.1", () => console.log("ready"));

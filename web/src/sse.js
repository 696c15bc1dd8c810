// sse.js: Server-Sent Events from a fetch body, shared by the page and the widget. "event:" and
// "data:" lines, a blank line ends an event, ":" lines are comments. Chunks may split anywhere:
// inside a line, a "\r\n" or a UTF-8 character (the decoder keeps a split character for the next
// chunk).
const ChajaSse = (() => {
  // Calls onEvent(type, data) for each event of `body` (a ReadableStream of bytes), until it ends.
  async function read(body, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder("utf-8");
    let buffer = "";
    let type = "";
    let data = [];
    const line = (s) => {
      if (s === "") {
        if (data.length) onEvent(type || "message", data.join("\n"));
        type = "";
        data = [];
        return;
      }
      if (s[0] === ":") return;
      const colon = s.indexOf(":");
      const field = colon < 0 ? s : s.slice(0, colon);
      let value = colon < 0 ? "" : s.slice(colon + 1);
      if (value[0] === " ") value = value.slice(1);
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
    };
    const drain = (final) => {
      for (let at; (at = buffer.search(/\r\n|\n|\r/)) >= 0; ) {
        // A "\r" at the very end may be the first half of a "\r\n": wait for the next chunk.
        if (buffer[at] === "\r" && at === buffer.length - 1 && !final) break;
        const len = buffer.startsWith("\r\n", at) ? 2 : 1;
        const s = buffer.slice(0, at);
        buffer = buffer.slice(at + len);
        line(s);
      }
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      drain(false);
    }
    buffer += decoder.decode();
    drain(true);
    if (buffer) line(buffer);
    line("");
  }
  return { read };
})();

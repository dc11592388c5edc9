// gdalert preview: draws each destination's message from the JSON data block.
// Event text is data: every value is placed with textContent or as a
// sandboxed iframe's srcdoc, never parsed as this page's HTML.
(function () {
  "use strict";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // Slack sends text with &, < and > as entities; show them as characters.
  function unslack(s) {
    return String(s).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  function link(url, label) {
    if (!/^https:\/\//.test(url)) return document.createTextNode(label + " (" + url + ")");
    var a = el("a", null, label);
    a.href = url;
    a.rel = "noopener noreferrer";
    a.target = "_blank";
    return a;
  }

  var EMOJI = {
    red_circle: "\uD83D\uDD34", large_orange_circle: "\uD83D\uDFE0",
    large_yellow_circle: "\uD83D\uDFE1", large_blue_circle: "\uD83D\uDD35",
    white_check_mark: "\u2705", warning: "\u26A0\uFE0F", rotating_light: "\uD83D\uDEA8"
  };

  // Slack mrkdwn, the part gdalert writes: *bold*, _italic_, `code`,
  // <url|label>, :emoji:.
  function inline(line, out) {
    var re = /(`[^`]+`)|(:[a-z0-9_+-]+:)|(\*[^*\n]+\*)|(\b_[^_\n]+_\b)|(<[^>|]+(?:\|[^>]+)?>)/g;
    var last = 0;
    var m;
    while ((m = re.exec(line))) {
      if (m.index > last) out.appendChild(document.createTextNode(unslack(line.slice(last, m.index))));
      var t = m[0];
      if (t[0] === "`") out.appendChild(el("code", null, unslack(t.slice(1, -1))));
      else if (t[0] === ":") out.appendChild(document.createTextNode(EMOJI[t.slice(1, -1)] || t));
      else if (t[0] === "*") out.appendChild(el("b", null, unslack(t.slice(1, -1))));
      else if (t[0] === "_") out.appendChild(el("i", null, unslack(t.slice(1, -1))));
      else {
        var inner = t.slice(1, -1);
        var bar = inner.indexOf("|");
        var url = bar < 0 ? inner : inner.slice(0, bar);
        out.appendChild(link(url, unslack(bar < 0 ? inner : inner.slice(bar + 1))));
      }
      last = re.lastIndex;
    }
    if (last < line.length) out.appendChild(document.createTextNode(unslack(line.slice(last))));
  }

  function mrkdwn(text, cls) {
    var box = el("div", cls);
    String(text).split("\n").forEach(function (line, i) {
      if (i) box.appendChild(document.createElement("br"));
      inline(line, box);
    });
    return box;
  }

  function textOf(obj) {
    if (!obj) return "";
    return obj.text !== undefined ? obj.text : "";
  }

  function slack(body) {
    var box = el("div", "slack");
    (body.blocks || []).forEach(function (b) {
      if (b.type === "header") box.appendChild(el("div", "sl-header", unslack(textOf(b.text))));
      else if (b.type === "section") {
        if (b.text) box.appendChild(mrkdwn(textOf(b.text), "sl-section"));
        if (b.fields) {
          var grid = el("div", "sl-fields");
          b.fields.forEach(function (f) { grid.appendChild(mrkdwn(textOf(f), "sl-field")); });
          box.appendChild(grid);
        }
      } else if (b.type === "context") {
        var c = el("div", "sl-context");
        (b.elements || []).forEach(function (e) { c.appendChild(mrkdwn(textOf(e), "sl-context-item")); });
        box.appendChild(c);
      } else if (b.type === "divider") box.appendChild(document.createElement("hr"));
      else if (b.type === "actions") {
        var a = el("div", "sl-actions");
        (b.elements || []).forEach(function (e) { a.appendChild(link(e.url || "", unslack(textOf(e.text)))); });
        box.appendChild(a);
      } else box.appendChild(el("pre", "note", JSON.stringify(b, null, 2)));
    });
    if (!body.blocks) box.appendChild(mrkdwn(body.text || "", "sl-section"));
    var fallback = el("div", "note", "Notification text: " + unslack(body.text || ""));
    box.appendChild(fallback);
    return box;
  }

  function escapeHtml(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  // The Markdown subset Teams applies to TextBlocks: **bold**, _italic_,
  // [label](url), "- " and "1. " lists, backslash escapes. The text is
  // HTML-escaped first, so only these few tags can result.
  function teamsMarkdown(text, result) {
    // CommonMark reads entity references as the characters they name.
    var decoded = String(text).replace(/&(amp|lt|gt|quot|#39);/g, function (_, name) {
      return { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" }[name];
    });
    var lines = escapeHtml(decoded).split("\n").map(function (line) {
      var item = /^(?:- |\d+\. )/.test(line);
      line = line
        .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
        .replace(/(^|[^\w\\])_(.+?)_(?=$|\W)/g, "$1<em>$2</em>")
        .replace(/\[([^\]]+)\]\((https:\/\/[^)\s]+)\)/g, '<a href="$2" rel="noopener noreferrer" target="_blank">$1</a>')
        .replace(/\\([\\`*_{}\[\]()#+\-.!|~])/g, "$1");
      return item ? "&bull; " + line.replace(/^- /, "") : line;
    });
    result.outputHtml = lines.join("<br>");
    result.didProcess = true;
  }

  function teams(body) {
    var box = el("div", "teams");
    var content = body.attachments && body.attachments[0] && body.attachments[0].content;
    try {
      AdaptiveCards.AdaptiveCard.onProcessMarkdown = teamsMarkdown;
      var card = new AdaptiveCards.AdaptiveCard();
      card.parse(content || body);
      var drawn = card.render();
      if (drawn) box.appendChild(drawn);
      else box.appendChild(el("pre", "error", "the Adaptive Cards renderer drew nothing"));
    } catch (e) {
      box.appendChild(el("pre", "error", "the Adaptive Cards renderer failed: " + e));
    }
    return box;
  }

  // Google Chat card text is an HTML subset. It is parsed in an inert
  // template (nothing in it runs or loads) and rebuilt from text, <b> and
  // <br> only: what Chat would show of gdalert's own markup.
  function chatText(html) {
    var t = document.createElement("template");
    t.innerHTML = String(html);
    var out = el("div", "gc-text");
    (function copy(from, to) {
      from.childNodes.forEach(function (n) {
        if (n.nodeType === 3) to.appendChild(document.createTextNode(n.textContent));
        else if (n.nodeName === "BR") to.appendChild(document.createElement("br"));
        else if (n.nodeName === "B") copy(n, to.appendChild(document.createElement("b")));
        else copy(n, to);
      });
    })(t.content, out);
    return out;
  }

  function googleChat(body) {
    var box = el("div", "google-chat");
    var card = (body.cardsV2 && body.cardsV2[0] && body.cardsV2[0].card) || {};
    var header = card.header || {};
    box.appendChild(el("div", "gc-title", header.title));
    box.appendChild(el("div", "gc-subtitle", header.subtitle));
    (card.sections || []).forEach(function (section) {
      var s = el("div", "gc-section");
      if (section.header) s.appendChild(el("div", "gc-header", section.header));
      (section.widgets || []).forEach(function (w) {
        if (w.textParagraph) s.appendChild(chatText(w.textParagraph.text));
        if (w.decoratedText) {
          s.appendChild(el("div", "gc-label", w.decoratedText.topLabel));
          s.appendChild(chatText(w.decoratedText.text));
        }
        if (w.buttonList) {
          w.buttonList.buttons.forEach(function (b) {
            var a = el("a", "gc-button", b.text);
            var url = b.onClick && b.onClick.openLink && b.onClick.openLink.url;
            if (/^https:\/\//.test(url || "")) a.href = url;
            a.rel = "noopener noreferrer";
            a.target = "_blank";
            s.appendChild(a);
          });
        }
      });
      box.appendChild(s);
    });
    box.appendChild(el("div", "note", "thread " + (body.thread && body.thread.threadKey)));
    return box;
  }

  function table(rows) {
    var t = el("table", "kv");
    rows.forEach(function (r) {
      if (r[1] === undefined || r[1] === null || r[1] === "") return;
      var tr = document.createElement("tr");
      tr.appendChild(el("th", null, r[0]));
      var value = typeof r[1] === "object" ? JSON.stringify(r[1]) : r[1];
      tr.appendChild(el("td", null, value));
      t.appendChild(tr);
    });
    return t;
  }

  function pagerduty(body) {
    var box = el("div", "pagerduty");
    var p = body.payload || {};
    if (body.event_action === "resolve") {
      box.appendChild(el("div", "pd-summary", "Resolves the incident " + body.dedup_key));
      return box;
    }
    var head = el("div", "pd-summary");
    head.appendChild(el("span", "pd-severity", p.severity));
    head.appendChild(document.createTextNode(p.summary || ""));
    box.appendChild(head);
    box.appendChild(table([["Source", p.source], ["Component", p.component], ["Group", p.group],
      ["Class", p.class], ["Dedup key", body.dedup_key]]));
    var details = p.custom_details || {};
    box.appendChild(el("div", "note", "Custom details"));
    box.appendChild(table(Object.keys(details).map(function (k) { return [k, details[k]]; })));
    return box;
  }

  // Atlassian Document Format, drawn with text nodes only: a node type the
  // page does not know is shown as its text, never as markup.
  function adf(node, parent) {
    (node.content || []).forEach(function (n) {
      var box;
      if (n.type === "text") {
        var link = (n.marks || []).filter(function (m) { return m.type === "link"; })[0];
        var code = (n.marks || []).some(function (m) { return m.type === "code"; });
        var strong = (n.marks || []).some(function (m) { return m.type === "strong"; });
        if (link && /^https:\/\//.test(link.attrs.href)) {
          box = el("a", null, n.text);
          box.href = link.attrs.href;
          box.rel = "noopener noreferrer";
          box.target = "_blank";
        } else {
          box = el(code ? "code" : strong ? "b" : "span", null, n.text);
        }
      } else if (n.type === "paragraph") {
        box = el("p");
      } else if (n.type === "heading") {
        box = el("h4");
      } else if (n.type === "bulletList") {
        box = el("ul");
      } else if (n.type === "listItem") {
        box = el("li");
      } else {
        box = el("div");
      }
      if (n.type !== "text") adf(n, box);
      parent.appendChild(box);
    });
    return parent;
  }

  function jira(body) {
    var box = el("div", "jira");
    var f = (body.issue || {}).fields || {};
    box.appendChild(el("div", "jira-summary", f.summary));
    box.appendChild(table([["Project", f.project && f.project.key], ["Type", f.issuetype && f.issuetype.name],
      ["Priority", f.priority && f.priority.name], ["Labels", (f.labels || []).join(" ")]]));
    box.appendChild(adf(f.description || {}, el("div", "jira-description")));
    var later = el("details");
    later.appendChild(el("summary", null, "As a comment on the alert's issue (updates, resolution)"));
    later.appendChild(adf((body.comment || {}).body || {}, el("div", "jira-description")));
    box.appendChild(later);
    return box;
  }

  function email(payload) {
    var box = el("div", "email");
    box.appendChild(el("div", "subject", "Subject: " + payload.subject));
    var frame = document.createElement("iframe");
    // No allow-scripts, no same origin: the message can run nothing here.
    frame.setAttribute("sandbox", "");
    frame.setAttribute("title", "HTML part");
    frame.srcdoc = payload.html;
    box.appendChild(frame);
    var text = el("details");
    text.appendChild(el("summary", null, "Plain-text part"));
    text.appendChild(el("pre", null, payload.text));
    box.appendChild(text);
    return box;
  }

  function sns(payload) {
    var box = el("div", "sns");
    box.appendChild(el("div", "subject", "Subject: " + payload.subject));
    box.appendChild(el("pre", null, payload.message));
    var attrs = payload.attributes || {};
    box.appendChild(el("div", "note", "Message attributes"));
    box.appendChild(table(Object.keys(attrs).map(function (k) { return [k, attrs[k]]; })));
    return box;
  }

  function draw(d) {
    var p = d.payload;
    if (!p) return el("div", "note", d.note || "nothing is sent");
    if (p.format === "email") return email(p);
    if (p.format === "sns") return sns(p);
    if (p.format === "text") return el("pre", null, p.text);
    if (d.kind === "slack") return slack(p.body);
    if (d.kind === "teams") return teams(p.body);
    if (d.kind === "google_chat") return googleChat(p.body);
    if (d.kind === "pagerduty") return pagerduty(p.body);
    if (d.kind === "jira") return jira(p.body);
    return el("pre", null, JSON.stringify(p.body, null, 2));
  }

  var data = JSON.parse(document.getElementById("gdalert-data").textContent);
  document.getElementById("source").textContent =
    data.events.length + " event(s), routes from " + data.source;
  var root = document.getElementById("events");
  data.events.forEach(function (ev) {
    var s = el("section", "event");
    s.appendChild(el("h2", null, ev.title));
    s.appendChild(el("div", "origin", ev.origin + (ev.routes.length ? "" : ": no route takes it")));
    if (ev.error) s.appendChild(el("pre", "error", ev.error));
    var grid = el("div", "deliveries");
    ev.routes.forEach(function (r) {
      r.deliveries.forEach(function (d) {
        var card = el("div", "delivery");
        card.setAttribute("data-kind", d.kind);
        card.appendChild(el("h3", null, d.kind + " · " + d.destination + " · route " + r.route));
        var body = el("div", "body");
        try {
          body.appendChild(draw(d));
        } catch (e) {
          body.appendChild(el("pre", "error", "could not draw: " + e));
        }
        card.appendChild(body);
        grid.appendChild(card);
      });
    });
    s.appendChild(grid);
    root.appendChild(s);
  });
  document.body.setAttribute("data-drawn", String(data.events.length));
})();

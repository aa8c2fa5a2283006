/* The live room page (live/templates/live/room.html): watch state, viewer count, chat,
 * questions to the lecturer with upvotes, pushed quizzes; moderator controls for the staff.
 *
 * Protocol: docs/live-protocol.md. The connection itself (ticket, reconnect with jittered
 * backoff, last_seq, batches) is live-client.js; this file renders frames and sends requests.
 * Every text that came from a user goes into the page through textContent, never innerHTML.
 */
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("live-room-config").textContent);
  const labels = JSON.parse(document.getElementById("live-room-labels").textContent);
  const $ = (id) => document.getElementById(id);
  const pageLanguage = document.documentElement.lang || undefined; // the server's choice, for dates
  const root = $("room");

  const CHAT_KEEP = 200; // messages kept in the page
  const MUTE_MINUTES = 10;

  const state = {
    questions: new Map(), // id -> question
    myVotes: new Set(),
    quiz: null, // {id, prompt, options, closes_at, your_option, closed, correct, counts, total}
    reactions: {},
    nextId: 1,
    pending: new Map(), // frame id -> {resolve, reject}
    client: null,
    countdown: null,
    ended: false,
  };

  // --- helpers -------------------------------------------------------------------------------

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_match, key) => String(values[key]));
  }

  /** An element with text (never HTML), attributes, dataset entries and children. */
  function el(tag, options = {}, children = []) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = String(options.text);
    for (const [key, value] of Object.entries(options.data || {})) node.dataset[key] = String(value);
    for (const [key, value] of Object.entries(options.attrs || {})) node.setAttribute(key, String(value));
    if (options.onClick) node.addEventListener("click", options.onClick);
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function showError(message) {
    const box = $("room-error");
    box.textContent = message;
    box.hidden = !message;
  }

  function setConnection(text, roomState) {
    $("connection").textContent = text;
    if (roomState) root.dataset.state = roomState;
  }

  function optionLetter(index) {
    return String.fromCharCode(65 + index);
  }

  function serverTime(iso) {
    const time = Date.parse(iso);
    return Number.isNaN(time) ? null : time;
  }

  // --- requests ------------------------------------------------------------------------------

  /** Sends a frame with a fresh id; resolves with the ack, rejects with the error frame. */
  function request(frame) {
    const id = `r${state.nextId++}`;
    return new Promise((resolve, reject) => {
      if (!state.client || !state.client.send({...frame, id})) {
        reject({code: "not_connected", message: labels.reconnecting});
        return;
      }
      state.pending.set(id, {resolve, reject});
    });
  }

  function settle(frame) {
    const waiting = state.pending.get(frame.id);
    if (!waiting) return false;
    state.pending.delete(frame.id);
    if (frame.type === "ack") waiting.resolve(frame);
    else waiting.reject(frame);
    return true;
  }

  function failPending() {
    for (const waiting of state.pending.values()) {
      waiting.reject({code: "not_connected", message: labels.reconnecting});
    }
    state.pending.clear();
  }

  function reportError(error) {
    if (error && error.code === "muted") {
      showMuted(error.until);
      // The page's own words, with the time on the reader's clock (the server's carry an ISO time).
      const notice = $("mute-notice");
      if (!notice.hidden) {
        showError(notice.textContent);
        return;
      }
    }
    showError(error && error.message ? error.message : labels.error);
  }

  // --- watch state ---------------------------------------------------------------------------

  function showLecture(lecture) {
    if (!lecture) return;
    const stateNode = $("lecture-state");
    stateNode.dataset.state = lecture.state;
    stateNode.textContent = labels.state[lecture.state] || lecture.state;
    if (lecture.title) $("lecture-title").textContent = lecture.title;
    const playUrl = lecture.state === "live" ? lecture.play_url || "" : "";
    $("play-url").textContent = playUrl;
    $("play-address").hidden = !playUrl;
    const player = $("player");
    player.dataset.playUrl = playUrl;
    // Only browsers that play HLS themselves (Safari, mobile) get the stream in the element;
    // elsewhere the address is shown (no player library is shipped).
    if (playUrl && player.canPlayType("application/vnd.apple.mpegurl")) {
      if (player.getAttribute("src") !== playUrl) player.src = playUrl;
    } else if (player.hasAttribute("src")) {
      player.removeAttribute("src");
    }
  }

  function showViewers(count) {
    $("viewer-count").textContent = String(count);
  }

  function showReactions(counts) {
    for (const [reaction, count] of Object.entries(counts || {})) {
      state.reactions[reaction] = (state.reactions[reaction] || 0) + Number(count || 0);
    }
    const icons = {like: "👍", flower: "🌷", clap: "👏"};
    $("reaction-counts").textContent = Object.entries(state.reactions)
      .map(([reaction, count]) => `${icons[reaction] || reaction} ${count}`).join("  ");
  }

  // --- chat ----------------------------------------------------------------------------------

  function chatItem(message) {
    const mine = message.user && message.user.id === config.userId;
    const controls = [];
    if (config.moderator) {
      controls.push(el("button", {
        className: "delete", text: labels.delete, attrs: {type: "button"},
        onClick: () => request({type: "chat.delete", message_id: message.id}).catch(reportError),
      }));
      if (!mine && message.user) {
        const mute = el("button", {
          className: "mute", text: labels.mute, attrs: {type: "button"},
          onClick: () => request({type: "user.mute", user_id: message.user.id, minutes: MUTE_MINUTES})
            .then(() => { mute.textContent = labels.muteDone; mute.disabled = true; })
            .catch(reportError),
        });
        controls.push(mute);
      }
    }
    return el("li", {
      className: mine ? "mine" : "",
      data: {id: message.id, userId: message.user ? message.user.id : ""},
    }, [
      el("span", {className: "author", text: message.user ? message.user.name : ""}),
      el("span", {className: "text", text: message.text}),
      controls.length ? el("span", {className: "controls"}, controls) : null,
    ]);
  }

  function addChat(messages) {
    const list = $("chat-list");
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
    for (const message of messages) {
      if (list.querySelector(`li[data-id="${CSS.escape(String(message.id))}"]`)) continue;
      list.append(chatItem(message));
    }
    while (list.children.length > CHAT_KEEP) list.firstElementChild.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function deleteChat(id) {
    const item = $("chat-list").querySelector(`li[data-id="${CSS.escape(String(id))}"]`);
    if (item) item.remove();
  }

  function showSlowMode(seconds) {
    const notice = $("slow-mode");
    notice.hidden = !seconds;
    notice.textContent = seconds ? format(labels.slowMode, {seconds}) : "";
    const form = $("slow-mode-form");
    if (form) form.elements.seconds.value = String(seconds || 0);
  }

  function showMuted(until) {
    const notice = $("mute-notice");
    const time = until ? serverTime(until) : null;
    if (!time || time <= Date.now()) {
      notice.hidden = true;
      notice.textContent = "";
      return;
    }
    notice.hidden = false;
    notice.textContent = format(labels.muted, {time: new Date(time).toLocaleTimeString(pageLanguage)});
  }

  // --- questions -----------------------------------------------------------------------------

  function sortedQuestions() {
    return [...state.questions.values()].sort((a, b) =>
      (Number(b.pinned) - Number(a.pinned)) || (b.votes - a.votes) || (a.id - b.id));
  }

  function questionItem(question) {
    const voted = state.myVotes.has(question.id);
    const upvote = el("button", {
      className: "upvote", text: `▲ ${labels.upvote}`,
      attrs: {type: "button", "aria-pressed": voted ? "true" : "false"},
      onClick: () => {
        upvote.disabled = true;
        request({type: "question.upvote", question_id: question.id})
          .then(() => { state.myVotes.add(question.id); renderQuestions(); })
          .catch((error) => {
            if (error.code === "already_voted") { state.myVotes.add(question.id); renderQuestions(); }
            else { upvote.disabled = false; reportError(error); }
          });
      },
    });
    upvote.disabled = voted;
    const badges = [];
    if (question.pinned) badges.push(el("span", {className: "badge pinned", text: labels.pinned}));
    if (question.answered) badges.push(el("span", {className: "badge answered", text: labels.answered}));
    const controls = [];
    if (config.teacher) {
      controls.push(el("button", {
        className: "pin", text: question.pinned ? labels.unpin : labels.pin, attrs: {type: "button"},
        onClick: () => request({type: "question.pin", question_id: question.id, pinned: !question.pinned})
          .catch(reportError),
      }));
      if (!question.answered) {
        controls.push(el("button", {
          className: "answer", text: labels.markAnswered, attrs: {type: "button"},
          onClick: () => request({type: "question.answer", question_id: question.id}).catch(reportError),
        }));
      }
    }
    return el("li", {
      className: [question.pinned ? "pinned" : "", question.answered ? "answered" : ""].join(" ").trim(),
      data: {id: question.id, votes: question.votes},
    }, [
      el("span", {className: "votes", text: question.votes, attrs: {title: labels.votes}}),
      el("span", {className: "text", text: question.text}),
      el("span", {className: "author", text: question.user ? question.user.name : ""}),
      ...badges,
      el("span", {className: "controls"}, [upvote, ...controls]),
    ]);
  }

  function renderQuestions() {
    $("question-list").replaceChildren(...sortedQuestions().map(questionItem));
  }

  function updateQuestion(id, changes) {
    const question = state.questions.get(id);
    if (!question) return;
    Object.assign(question, changes);
    renderQuestions();
  }

  // --- quizzes -------------------------------------------------------------------------------

  function stopCountdown() {
    if (state.countdown) clearInterval(state.countdown);
    state.countdown = null;
  }

  function tick() {
    const quiz = state.quiz;
    if (!quiz || quiz.closed) { stopCountdown(); return; }
    const closesAt = serverTime(quiz.closes_at);
    const left = closesAt === null ? 0 : Math.max(0, Math.ceil((closesAt - Date.now()) / 1000));
    $("quiz-countdown").textContent = left > 0 ? format(labels.quizSecondsLeft, {seconds: left})
      : labels.quizTimeUp;
    $("quiz").dataset.secondsLeft = String(left);
    if (left === 0) {
      for (const button of $("quiz-options").querySelectorAll("button")) button.disabled = true;
      stopCountdown();
    }
  }

  function answerQuiz(quiz, option) {
    for (const button of $("quiz-options").querySelectorAll("button")) button.disabled = true;
    request({type: "quiz.answer", quiz_id: quiz.id, option})
      .then(() => {
        quiz.your_option = option;
        renderQuiz();
      })
      .catch((error) => {
        if (error.code === "already_answered") return;
        reportError(error);
        renderQuiz();
      });
  }

  function renderQuiz() {
    const quiz = state.quiz;
    const section = $("quiz");
    stopCountdown();
    if (!quiz) {
      section.hidden = true;
      delete section.dataset.quizId;
      delete section.dataset.phase;
      return;
    }
    section.hidden = false;
    section.dataset.quizId = String(quiz.id);
    section.dataset.phase = quiz.closed ? "closed" : "open";
    $("quiz-heading").textContent = quiz.closed ? labels.quizClosed : labels.quizOpen;
    $("quiz-prompt").textContent = quiz.prompt;
    const answered = quiz.your_option !== null && quiz.your_option !== undefined;
    const counts = quiz.counts || [];
    const total = quiz.total || 0;
    $("quiz-options").replaceChildren(...quiz.options.map((text, index) => {
      const classes = [];
      if (answered && quiz.your_option === index) classes.push("chosen");
      if (quiz.closed && quiz.correct === index) classes.push("correct");
      const children = [el("span", {className: "letter", text: optionLetter(index)}),
        el("span", {className: "text", text})];
      if (counts.length) {
        const count = counts[index] || 0;
        const share = total ? Math.round((100 * count) / total) : 0;
        children.push(el("span", {className: "count", text: `${count} (${share}%)`, data: {count}}));
        const bar = el("span", {className: "bar"});
        bar.style.width = `${share}%`; // CSSOM, not a style attribute: fine under a strict CSP
        children.push(bar);
      }
      const item = el("li", {className: classes.join(" "), data: {index}}, children);
      if (!quiz.closed && !answered) {
        item.append(el("button", {
          text: labels.quizSubmit, attrs: {type: "button"},
          onClick: () => answerQuiz(quiz, index),
        }));
      }
      return item;
    }));
    $("quiz-total").textContent = counts.length ? format(labels.quizAnswers, {total}) : "";
    const feedback = $("quiz-feedback");
    feedback.dataset.result = "";
    if (quiz.closed) {
      $("quiz-countdown").textContent = "";
      if (quiz.result) {
        const correct = optionLetter(quiz.result.correct);
        if (quiz.result.option === null || quiz.result.option === undefined) {
          feedback.textContent = format(labels.quizNotAnswered, {option: correct});
          feedback.dataset.result = "unanswered";
        } else if (quiz.result.is_correct) {
          feedback.textContent = labels.quizCorrect;
          feedback.dataset.result = "correct";
        } else {
          feedback.textContent = format(labels.quizWrong, {option: correct});
          feedback.dataset.result = "wrong";
        }
      } else {
        feedback.textContent = "";
      }
    } else {
      feedback.textContent = answered ? labels.quizAnswered : "";
      tick();
      state.countdown = setInterval(tick, 250);
    }
    const close = $("quiz-close");
    if (close) close.hidden = quiz.closed;
  }

  function openQuiz(quiz) {
    state.quiz = {...quiz, your_option: quiz.your_option ?? null, closed: false};
    renderQuiz();
  }

  function closeQuiz(frame) {
    if (!state.quiz || state.quiz.id !== frame.quiz_id) return;
    Object.assign(state.quiz, {closed: true, correct: frame.correct, counts: frame.counts, total: frame.total});
    renderQuiz();
    if (config.teacher) return; // the teachers see the counts; they have no answer of their own
    // The grade comes as a quiz.result frame, to this client only.
    request({type: "quiz.result", quiz_id: state.quiz.id}).catch(() => null);
  }

  // --- frames --------------------------------------------------------------------------------

  function applySnapshot(snapshot) {
    showLecture(snapshot.lecture);
    if (snapshot.you) showMuted(snapshot.you.muted_until);
    $("chat-list").replaceChildren();
    addChat(snapshot.chat || []);
    state.questions = new Map((snapshot.questions || []).map((question) => [question.id, question]));
    renderQuestions();
    showSlowMode(snapshot.slow_mode || 0);
    state.quiz = null;
    if (snapshot.quiz) openQuiz(snapshot.quiz);
    else renderQuiz();
    showError("");
    setConnection(labels.connected, "ready");
  }

  const handlers = {
    snapshot: applySnapshot,
    "chat.message": (frame) => addChat([frame]),
    "chat.deleted": (frame) => deleteChat(frame.id),
    "chat.slow_mode": (frame) => showSlowMode(frame.seconds),
    "user.muted": (frame) => { if (frame.user_id === config.userId) showMuted(frame.until); },
    "user.unmuted": (frame) => { if (frame.user_id === config.userId) showMuted(null); },
    "question.new": (frame) => {
      state.questions.set(frame.question.id, frame.question);
      renderQuestions();
    },
    "question.votes": (frame) => updateQuestion(frame.id, {votes: frame.votes}),
    "question.pinned": (frame) => updateQuestion(frame.id, {pinned: frame.pinned}),
    "question.answered": (frame) => updateQuestion(frame.id, {answered: true}),
    "quiz.open": (frame) => openQuiz(frame.quiz),
    "quiz.results": (frame) => {
      if (!state.quiz || state.quiz.id !== frame.quiz_id || state.quiz.closed) return;
      Object.assign(state.quiz, {counts: frame.counts, total: frame.total});
      renderQuiz();
    },
    "quiz.closed": closeQuiz,
    "quiz.result": (frame) => {
      if (!state.quiz || state.quiz.id !== frame.quiz_id) return;
      state.quiz.result = frame;
      renderQuiz();
    },
    "lecture.ended": () => {
      state.ended = true;
      showLecture({state: "ended"});
      setConnection(labels.ended, "ended");
      if (state.client) state.client.close(); // new connections would be refused (4409)
    },
    presence: (frame) => showViewers(frame.viewers),
    reactions: (frame) => showReactions(frame.counts),
    ack: settle,
    error: (frame) => {
      if (!settle(frame)) reportError(frame);
    },
  };

  function handle(frame) {
    const handler = handlers[frame && frame.type];
    if (handler) handler(frame);
  }

  // --- forms ---------------------------------------------------------------------------------

  function bindCompose(formId, build) {
    const form = $(formId);
    if (!form) return;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const frame = build(form);
      if (!frame) return;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      request(frame)
        .then(() => { form.reset(); showError(""); })
        .catch(reportError)
        .finally(() => { button.disabled = false; });
    });
  }

  bindCompose("chat-form", (form) => {
    const text = form.elements.text.value.trim();
    return text ? {type: "chat.send", text} : null;
  });
  bindCompose("question-form", (form) => {
    const text = form.elements.text.value.trim();
    return text ? {type: "question.ask", text} : null;
  });
  bindCompose("slow-mode-form", (form) => ({type: "chat.slow_mode", seconds: Number(form.elements.seconds.value)}));
  bindCompose("quiz-push-form", (form) => {
    const options = form.elements.options.value.split("\n").map((line) => line.trim()).filter(Boolean);
    if (options.length < 2 || options.length > 6) {
      showError(labels.quizPushOptions);
      return null;
    }
    return {
      type: "quiz.push", prompt: form.elements.prompt.value.trim(), options,
      correct: Number(form.elements.correct.value) - 1, seconds: Number(form.elements.seconds.value),
    };
  });

  const closeButton = $("quiz-close");
  if (closeButton) {
    closeButton.addEventListener("click", () => {
      if (state.quiz && !state.quiz.closed) request({type: "quiz.close", quiz_id: state.quiz.id}).catch(reportError);
    });
  }

  for (const button of document.querySelectorAll("#reactions button[data-reaction]")) {
    button.addEventListener("click", () => {
      if (state.client) state.client.send({type: "react", reaction: button.dataset.reaction});
    });
  }

  // --- connection ----------------------------------------------------------------------------

  const REFUSALS = {4403: "refused", 4404: "notFound", 4409: "notOpen", 4003: "banned"};

  /** A fresh connection is ready once its snapshot is applied; a resumed one (last_seq sent)
   * at once, since the server sends only what was missed, possibly nothing. */
  function onOpen(resuming) {
    if (resuming) setConnection(labels.connected, "ready");
  }

  /** Shows why the socket closed (a refusal, the lecture's end, a drop the client retries). */
  function onClose(code, final) {
    failPending();
    if (code !== undefined) root.dataset.closeCode = String(code);
    if (REFUSALS[code]) setConnection(labels[REFUSALS[code]], "refused");
    else if (state.ended) setConnection(labels.ended, "ended");
    else if (final) setConnection(labels.closed, "closed");
    else setConnection(labels.reconnecting, "reconnecting");
  }

  function csrfToken() {
    const meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  // live-client.js: ticket, reconnect with jittered backoff, last_seq, batches unpacked.
  const client = new window.LiveClient({
    socketPath: config.socketPath, ticketUrl: config.ticketUrl, csrfToken, autoConnect: false,
    stopCodes: [4003, 4403, 4404, 4409], // refusals that a retry cannot change
  });
  client.on("*", handle);
  client.on("status", (status, detail) => {
    if (status === "connecting") setConnection(labels.connecting, "connecting");
    else if (status === "open") onOpen(detail);
    else if (status === "reconnecting") onClose(detail, false);
    else if (status === "closed") onClose(detail, true);
    else if (status === "signed-out") setConnection(labels.signedOut, "refused");
  });
  state.client = client;
  client.connect();
})();

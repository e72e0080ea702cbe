// The label review page: keys, clicks, and the POSTs that save each decision.
// No framework, no build step. Every text from the server is set with textContent.
"use strict";

(function () {
  const token = document.querySelector('meta[name="review-token"]').getAttribute("content");
  const message = document.getElementById("message");
  const progress = document.getElementById("progress");
  let busy = false;

  function say(text, isError) {
    message.textContent = text;
    message.hidden = !text;
    message.classList.toggle("error", Boolean(isError));
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Review-Token": token },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = { error: "the server answered " + response.status };
    }
    if (!response.ok) {
      throw new Error(data.error || "the server answered " + response.status);
    }
    if (progress && data.progress) {
      progress.textContent = data.progress;
    }
    return data;
  }

  // Thumbnails that fail say why (the server answers with a short reason). An image may have
  // failed before this deferred script ran: those are handled at once.
  async function showWhyBroken(img) {
    const label = img.parentElement.querySelector(".thumb-error");
    let reason = "could not be loaded";
    try {
      const response = await fetch(img.src);
      reason = (await response.text()).slice(0, 80) || reason;
    } catch (error) {
      /* keep the generic reason */
    }
    img.hidden = true;
    if (label) {
      label.textContent = reason;
      label.hidden = false;
    }
  }

  for (const img of document.querySelectorAll("img[src^='/thumb/']")) {
    if (img.complete && img.naturalWidth === 0) {
      showWhyBroken(img);
    } else {
      img.addEventListener("error", function () {
        showWhyBroken(img);
      });
    }
  }

  function imageIdOf(element) {
    const value = element.getAttribute("data-image-id");
    return value === "" || value === null ? null : Number(value);
  }

  function mark(container, imageId) {
    for (const card of container.querySelectorAll(".photo")) {
      card.classList.toggle("selected", imageIdOf(card) === imageId);
    }
  }

  // The decision names the photos the page showed, and what the page showed of the product's decision
  // (data-shown-state): the server refuses it (409) when the product's photos changed since, or someone
  // decided it since (another session, the app), so a decision never covers a photo nobody saw and never
  // overwrites a decision nobody saw.
  function shownUrls(container) {
    return Array.from(container.querySelectorAll(".photo[data-url]"), function (card) {
      return card.getAttribute("data-url");
    });
  }

  async function decide(tenant, productId, imageId, container) {
    return post("/api/decision", {
      tenant_schema: tenant,
      product_id: productId,
      label_image_id: imageId,
      shown_urls: shownUrls(container),
      shown_state: container.closest("[data-shown-state]").getAttribute("data-shown-state"),
    });
  }

  async function undo() {
    if (busy) return;
    busy = true;
    try {
      const data = await post("/api/undo", {});
      say("Undone.", false);
      window.location.assign(data.url);
    } catch (error) {
      say(error.message, true);
      busy = false;
    }
  }

  // One product: keys 1-9 and 0 select, Enter confirms and goes on, Backspace goes back, u undoes.
  const product = document.getElementById("product");
  if (product) {
    const tenant = product.getAttribute("data-tenant");
    const productId = Number(product.getAttribute("data-product-id"));
    const nextUrl = product.getAttribute("data-next-url");
    const prevUrl = product.getAttribute("data-prev-url");
    const photos = document.getElementById("photos");
    const selectedCard = photos.querySelector(".photo.selected");
    const pending = document.getElementById("pending");
    let selected = selectedCard ? imageIdOf(selectedCard) : null;

    function select(imageId) {
      selected = imageId;
      mark(photos, imageId);
      say("", false);
      const card = photos.querySelector(".photo.selected");
      const key = card ? card.getAttribute("data-key") : "";
      pending.textContent =
        (imageId === null ? "Selected: no price tag." : "Selected: photo " + (key || "") + " is the price tag.") +
        " Enter saves it and goes on.";
      pending.hidden = false;
    }

    async function confirm() {
      if (busy) return;
      busy = true;
      product.classList.add("saving");
      try {
        const data = await decide(tenant, productId, selected, photos);
        window.location.assign(data.next_url);
      } catch (error) {
        say("Not saved: " + error.message, true);
        product.classList.remove("saving");
        busy = false;
      }
    }

    for (const button of photos.querySelectorAll("button.pick")) {
      button.addEventListener("click", function () {
        select(imageIdOf(button));
        confirm();
      });
    }
    document.getElementById("confirm").addEventListener("click", confirm);
    document.getElementById("undo").addEventListener("click", undo);

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const key = event.key;
      // Enter on a focused button or link does what that button or link does (e.g. Undo), not a confirm.
      if (key === "Enter" && event.target instanceof Element && event.target.closest("button, a")) return;
      if (key >= "1" && key <= "9") {
        const card = photos.querySelector('.photo[data-key="' + key + '"]');
        if (card) select(imageIdOf(card));
        else say("There is no photo " + key + ".", true);
        event.preventDefault();
      } else if (key === "0") {
        select(null);
        event.preventDefault();
      } else if (key === "Enter") {
        event.preventDefault();
        confirm();
      } else if (key === "Backspace") {
        event.preventDefault();
        if (prevUrl) window.location.assign(prevUrl);
        else say("This is the first product of the queue.", false);
      } else if (key === "u" || key === "U") {
        event.preventDefault();
        undo();
      } else if (key === "ArrowRight") {
        window.location.assign(nextUrl);
      } else if (key === "ArrowLeft" && prevUrl) {
        window.location.assign(prevUrl);
      }
    });
  }

  // The grid: a click saves that product's decision at once.
  for (const card of document.querySelectorAll("article.card")) {
    const tenant = card.getAttribute("data-tenant");
    const productId = Number(card.getAttribute("data-product-id"));
    for (const button of card.querySelectorAll("button.pick")) {
      button.addEventListener("click", async function () {
        const imageId = imageIdOf(button);
        try {
          const data = await decide(tenant, productId, imageId, card);
          card.setAttribute("data-shown-state", data.shown_state); // this decision is now what the card shows
          mark(card, imageId);
          card.classList.add("decided");
          const source = card.querySelector(".decision-source");
          if (source) source.textContent = "saved in the review list, not applied yet";
          say("", false);
        } catch (error) {
          say("Not saved: " + error.message, true);
        }
      });
    }
  }

  const finish = document.getElementById("finish");
  if (finish) {
    finish.addEventListener("click", async function () {
      try {
        const data = await post("/api/finish", {});
        say(data.message, false);
        finish.disabled = true;
      } catch (error) {
        say(error.message, true);
      }
    });
  }
})();

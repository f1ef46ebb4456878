// Passkeys in the browser: fetch options, call WebAuthn, post the result with the page's form.
(function () {
  'use strict';
  function enc(buf) {
    var s = '';
    new Uint8Array(buf).forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function dec(str) {
    var b = atob(str.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((str.length + 3) % 4));
    return Uint8Array.from(b, function (c) { return c.charCodeAt(0); }).buffer;
  }
  function fail(form, message) {
    var p = form.querySelector('.passkey-error');
    if (p) { p.textContent = message; p.hidden = false; }
  }
  document.querySelectorAll('button[data-passkey]').forEach(function (button) {
    if (!window.PublicKeyCredential) { button.hidden = true; return; }
    button.addEventListener('click', function (event) {
      event.preventDefault();
      var form = button.closest('form');
      var csrf = form.querySelector('input[name=csrf]').value;
      fetch(button.getAttribute('data-options'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ csrf: csrf }),
        credentials: 'same-origin',
      }).then(function (res) {
        if (!res.ok) throw new Error('The server refused the passkey request.');
        return res.json();
      }).then(function (o) {
        o.challenge = dec(o.challenge);
        if (button.getAttribute('data-passkey') === 'create') {
          o.user.id = dec(o.user.id);
          (o.excludeCredentials || []).forEach(function (c) { c.id = dec(c.id); });
          return navigator.credentials.create({ publicKey: o }).then(function (c) {
            return { id: c.id, rawId: enc(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment,
              clientExtensionResults: c.getClientExtensionResults(),
              response: { clientDataJSON: enc(c.response.clientDataJSON), attestationObject: enc(c.response.attestationObject),
                transports: c.response.getTransports ? c.response.getTransports() : [] } };
          });
        }
        (o.allowCredentials || []).forEach(function (c) { c.id = dec(c.id); });
        return navigator.credentials.get({ publicKey: o }).then(function (c) {
          return { id: c.id, rawId: enc(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment,
            clientExtensionResults: c.getClientExtensionResults(),
            response: { clientDataJSON: enc(c.response.clientDataJSON), authenticatorData: enc(c.response.authenticatorData),
              signature: enc(c.response.signature), userHandle: c.response.userHandle ? enc(c.response.userHandle) : undefined } };
        });
      }).then(function (json) {
        form.querySelector('input[name=response]').value = JSON.stringify(json);
        form.submit();
      }).catch(function (err) {
        fail(form, err && err.name === 'NotAllowedError' ? 'The passkey prompt was cancelled.' : (err && err.message) || 'The passkey did not work.');
      });
    });
  });
})();

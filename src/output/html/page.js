// gwb's report page: builds each data table from its JSON block and draws only the rows in
// view, so 100,000 groups filter, search and sort at once. Every value is set with
// textContent, never parsed as HTML.
(function () {
  'use strict';
  var ROW = 28;
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function grid(root) {
    var data = JSON.parse(document.getElementById(root.getAttribute('data-grid')).textContent);
    var cols = data.columns;
    var rows = data.rows;
    var n = rows.length;
    var show = function (c, v) {
      if (v === null || v === undefined) return '';
      return c.values ? c.values[v] : String(v);
    };
    root.style.setProperty('--cols', cols.map(function (c) { return c.width || '9em'; }).join(' '));

    // Controls: a search box, a select per filterable column, a checkbox per flag column.
    var controls = el('div', 'controls');
    var searchCols = [];
    cols.forEach(function (c, i) { if (c.search) searchCols.push(i); });
    var search = null;
    if (searchCols.length) {
      search = el('input');
      search.type = 'search';
      search.placeholder = 'Search ' + searchCols.map(function (i) { return cols[i].label.toLowerCase(); }).join(' or ');
      search.setAttribute('aria-label', search.placeholder);
      search.className = 'search';
      controls.appendChild(search);
    }
    var selects = [];
    var flags = [];
    cols.forEach(function (c, i) {
      if (c.filter === 'select' && c.values) {
        var label = el('label', null, c.label + ' ');
        var s = el('select');
        s.setAttribute('data-col', c.key);
        s.appendChild(el('option', null, 'all'));
        s.options[0].value = '';
        c.values.forEach(function (v, k) {
          var o = el('option', null, v);
          o.value = String(k);
          s.appendChild(o);
        });
        label.appendChild(s);
        controls.appendChild(label);
        selects.push([i, s]);
      } else if (c.filter === 'flag') {
        var fl = el('label');
        var cb = el('input');
        cb.type = 'checkbox';
        cb.setAttribute('data-col', c.key);
        fl.appendChild(cb);
        fl.appendChild(document.createTextNode(' ' + (c.flagLabel || c.label)));
        controls.appendChild(fl);
        flags.push([i, cb]);
      }
    });
    var status = el('div', 'status');
    status.setAttribute('aria-live', 'polite');
    controls.appendChild(status);

    var table = el('div', 'grid');
    table.setAttribute('role', 'table');
    var viewport = el('div', 'viewport');
    viewport.tabIndex = 0;
    var head = el('div', 'row head');
    head.setAttribute('role', 'row');
    var canvas = el('div', 'canvas');
    var body = el('div', 'body');
    canvas.appendChild(body);
    viewport.appendChild(head);
    viewport.appendChild(canvas);
    table.appendChild(viewport);
    root.appendChild(controls);
    root.appendChild(table);

    // Sorting: one permutation per column, made the first time it is asked for.
    var sortCol = -1;
    var sortDesc = false;
    var perms = {};
    function perm(i) {
      if (perms[i]) return perms[i];
      var c = cols[i];
      var p = new Uint32Array(n);
      for (var k = 0; k < n; k++) p[k] = k;
      var a = Array.prototype.slice.call(p);
      if (c.values) {
        var rank = c.values.map(function (v, k) { return k; });
        rank.sort(function (x, y) { return collator.compare(c.values[x], c.values[y]); });
        var at = [];
        rank.forEach(function (v, k) { at[v] = k; });
        a.sort(function (x, y) {
          var u = rows[x][i], v = rows[y][i];
          return (u === null ? 1e9 : at[u]) - (v === null ? 1e9 : at[v]) || x - y;
        });
      } else if (c.type === 'num') {
        a.sort(function (x, y) {
          var u = rows[x][i], v = rows[y][i];
          if (u === null) return v === null ? x - y : 1;
          if (v === null) return -1;
          return u - v || x - y;
        });
      } else {
        a.sort(function (x, y) {
          var u = rows[x][i], v = rows[y][i];
          if (u === null || u === '') return v === null || v === '' ? x - y : 1;
          if (v === null || v === '') return -1;
          return collator.compare(u, v) || x - y;
        });
      }
      perms[i] = Uint32Array.from(a);
      return perms[i];
    }

    var headers = cols.map(function (c, i) {
      var h = el('div', 'c');
      h.setAttribute('role', 'columnheader');
      h.setAttribute('aria-sort', 'none');
      var b = el('button', null, c.label);
      b.type = 'button';
      b.title = 'Sort by ' + c.label;
      b.addEventListener('click', function () {
        if (sortCol === i) sortDesc = !sortDesc; else { sortCol = i; sortDesc = false; }
        headers.forEach(function (x, k) {
          x.setAttribute('aria-sort', k === sortCol ? (sortDesc ? 'descending' : 'ascending') : 'none');
        });
        apply();
      });
      h.appendChild(b);
      head.appendChild(h);
      return h;
    });

    var hay = null;
    function haystack(k) {
      if (!hay) {
        hay = new Array(n);
        for (var r = 0; r < n; r++) {
          hay[r] = searchCols.map(function (i) { return show(cols[i], rows[r][i]); }).join('\u0000').toLowerCase();
        }
      }
      return hay[k];
    }

    var order = new Uint32Array(n);
    var shown = 0;
    function apply() {
      var q = search ? search.value.trim().toLowerCase() : '';
      var want = selects.filter(function (s) { return s[1].value !== ''; })
        .map(function (s) { return [s[0], Number(s[1].value)]; });
      var need = flags.filter(function (f) { return f[1].checked; }).map(function (f) { return f[0]; });
      var base = sortCol >= 0 ? perm(sortCol) : null;
      shown = 0;
      for (var j = 0; j < n; j++) {
        var k = base ? base[sortDesc ? n - 1 - j : j] : j;
        var row = rows[k];
        var ok = true;
        for (var w = 0; w < want.length && ok; w++) ok = row[want[w][0]] === want[w][1];
        for (var f = 0; f < need.length && ok; f++) { var v = row[need[f]]; ok = v !== null && v !== '' && v !== false; }
        if (ok && q) ok = haystack(k).indexOf(q) >= 0;
        if (ok) order[shown++] = k;
      }
      status.textContent = shown === n ? n.toLocaleString('en-US') + ' rows'
        : 'Showing ' + shown.toLocaleString('en-US') + ' of ' + n.toLocaleString('en-US') + ' rows';
      root.setAttribute('data-shown', String(shown));
      canvas.style.height = (shown * ROW) + 'px';
      viewport.scrollTop = 0;
      draw();
    }

    var pending = false;
    function draw() {
      pending = false;
      var top = Math.max(0, viewport.scrollTop - canvas.offsetTop);
      var first = Math.max(0, Math.floor(top / ROW) - 10);
      var last = Math.min(shown, first + Math.ceil(viewport.clientHeight / ROW) + 20);
      body.style.transform = 'translateY(' + (first * ROW) + 'px)';
      var frag = document.createDocumentFragment();
      for (var j = first; j < last; j++) {
        var row = rows[order[j]];
        var r = el('div', 'row');
        r.setAttribute('role', 'row');
        if (data.attention !== undefined && row[data.attention]) r.className = 'row attention';
        for (var i = 0; i < cols.length; i++) {
          var text = show(cols[i], row[i]);
          var c = el('div', cols[i].cls ? 'c ' + cols[i].cls : 'c', text);
          c.setAttribute('role', 'cell');
          if (text.length > 24) c.title = text;
          r.appendChild(c);
        }
        frag.appendChild(r);
      }
      if (shown === 0) frag.appendChild(el('div', 'empty', 'No rows match.'));
      body.replaceChildren(frag);
    }
    viewport.addEventListener('scroll', function () {
      if (!pending) { pending = true; requestAnimationFrame(draw); }
    });
    window.addEventListener('resize', function () { draw(); });
    if (search) search.addEventListener('input', apply);
    selects.forEach(function (s) { s[1].addEventListener('change', apply); });
    flags.forEach(function (f) { f[1].addEventListener('change', apply); });
    apply();
  }

  document.querySelectorAll('[data-grid]').forEach(grid);
  // A fleet page: the tenant selector shows one tenant's section (or all), and the tables
  // that come into view are drawn again.
  var pick = document.getElementById('tenant-select');
  if (pick) {
    var choose = function () {
      document.querySelectorAll('section[data-tenant]').forEach(function (s) {
        s.hidden = pick.value !== '' && s.getAttribute('data-tenant') !== pick.value;
      });
      window.dispatchEvent(new Event('resize'));
    };
    pick.addEventListener('change', choose);
    choose();
  }
  document.documentElement.setAttribute('data-ready', '1');
  // When the tables became usable, for the benchmark (BENCHMARKS.md).
  document.documentElement.setAttribute('data-ready-ms', String(Math.round(performance.now())));
})();

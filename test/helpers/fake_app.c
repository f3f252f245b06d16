/* test/helpers/fake_app.c - the fake transport (see fake_app.h). */
#include "fake_app.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *f_method(void *io) {
  return ((hl_fake_req_t *)io)->method;
}
static const char *f_path(void *io) {
  return ((hl_fake_req_t *)io)->path;
}
static const char *f_query(void *io) {
  return ((hl_fake_req_t *)io)->query;
}
static const char *f_header(void *io, const char *name) {
  hl_fake_req_t *f = io;
  for (size_t i = 0; i < f->nh; i++)
    if (strcasecmp(f->hdrs[i][0], name) == 0)
      return f->hdrs[i][1];
  return NULL;
}
static int f_header_at(void *io, size_t i, const char **n, const char **v) {
  hl_fake_req_t *f = io;
  if (i >= f->nh)
    return HL_ENOENT;
  *n = f->hdrs[i][0];
  *v = f->hdrs[i][1];
  return 0;
}

static hl__app_body_cb pending_cb;
static void body_later(void *arg) {
  hl_fake_req_t *f = arg;
  pending_cb(f->req, 0, f->body, f->body_len);
}
static int f_read_body(void *io, hl__req_t *req, hl__app_body_cb cb) {
  hl_fake_req_t *f = io;
  f->req = req;
  if (f->body_async) {
    pending_cb = cb;
    return hl_set_immediate(hl_loop_current(), body_later, f, &f->imm);
  }
  cb(req, 0, f->body, f->body_len);
  return 0;
}

static void finish_later(void *arg) {
  hl_fake_req_t *f = arg;
  f->finished = 1;
  hl__app_io_closed(f->req, 0);
}
static int record(hl_fake_req_t *f, int kind, int status, const hl_header_t *h, size_t n) {
  f->kind = kind;
  f->status = status;
  f->nrh = 0;
  for (size_t i = 0; i < n && i < 24; i++) {
    snprintf(f->rh[i][0], 256, "%s", h[i].name);
    snprintf(f->rh[i][1], 256, "%s", h[i].value);
    f->nrh++;
  }
  return 0;
}
static void done(hl_fake_req_t *f) {
  if (f->no_finish)
    return;
  if (f->finish_async) {
    hl_set_immediate(hl_loop_current(), finish_later, f, NULL);
    return;
  }
  f->finished = 1;
  hl__app_io_closed(f->req, 0);
}
static void append(hl_fake_req_t *f, const void *d, size_t n) {
  f->body_out = realloc(f->body_out, f->out_len + n + 1);
  memcpy(f->body_out + f->out_len, d, n);
  f->out_len += n;
  f->body_out[f->out_len] = '\0';
}
static int f_respond(void *io, int status, const hl_header_t *h, size_t n, const void *body,
                     size_t len) {
  hl_fake_req_t *f = io;
  record(f, 1, status, h, n);
  append(f, body, len);
  done(f);
  return 0;
}
static int f_respond_file(void *io, int status, const hl_header_t *h, size_t n, const char *path) {
  hl_fake_req_t *f = io;
  FILE *fp = fopen(path, "rb");
  if (fp == NULL)
    return errno == ENOENT ? HL_ENOENT : HL_EINVAL;
  record(f, 2, status, h, n);
  char buf[4096];
  size_t k;
  append(f, "", 0);
  while ((k = fread(buf, 1, sizeof(buf), fp)) > 0)
    append(f, buf, k);
  fclose(fp);
  done(f);
  return 0;
}
static int f_stream_start(void *io, int status, const hl_header_t *h, size_t n) {
  hl_fake_req_t *f = io;
  record(f, 3, status, h, n);
  append(f, "", 0);
  return 0;
}
static int f_stream_write(void *io, const void *d, size_t n) {
  append(io, d, n);
  return 0;
}
static int f_stream_end(void *io) {
  hl_fake_req_t *f = io;
  f->stream_ended = 1;
  done(f);
  return 0;
}
static void f_release(void *io) {
  ((hl_fake_req_t *)io)->released++;
}

static const hl__app_io_t fake_vt = {f_method,       f_path,
                                     f_query,        f_header,
                                     f_header_at,    f_read_body,
                                     f_respond,      f_respond_file,
                                     f_stream_start, f_stream_write,
                                     f_stream_end,   NULL,
                                     f_release,      NULL};

int hl_fake_dispatch(hl_app_t *app, hl_fake_req_t *f) {
  if (f->method == NULL)
    f->method = "GET";
  return hl__app_dispatch(app, &fake_vt, f, &f->req);
}

void hl_fake_close(hl_fake_req_t *f) {
  f->finished = 1;
  hl__app_io_closed(f->req, HL_ECLIENTGONE);
}

const char *hl_fake_header(const hl_fake_req_t *f, const char *name) {
  for (size_t i = 0; i < f->nrh; i++)
    if (strcasecmp(f->rh[i][0], name) == 0)
      return f->rh[i][1];
  return NULL;
}

void hl_fake_free(hl_fake_req_t *f) {
  free(f->body_out);
  f->body_out = NULL;
}

/* test/helpers/fake_app.h - a fake transport for the app layer: implements
 * the adapter interface of src/app/io.h over an in-memory request, and records
 * the response, so tests drive the whole lifecycle without sockets. */
#ifndef HL_TEST_FAKE_APP_H
#define HL_TEST_FAKE_APP_H
#include <stddef.h>
#include "app/io.h"
#include "hookloop.h"

typedef struct hl_fake_req_s {
  /* request (set by the test) */
  const char *method, *path, *query;
  const char *hdrs[16][2];
  size_t nh;
  const char *body;
  size_t body_len;
  int body_async;   /* deliver the body from an immediate */
  int finish_async; /* report the last byte from an immediate */
  int no_finish;    /* never report the last byte (the test closes) */
  /* response (recorded) */
  int kind; /* 0 nothing, 1 respond, 2 file, 3 stream */
  int status;
  char rh[24][2][256];
  size_t nrh;
  char *body_out; /* malloc'd, NUL-terminated */
  size_t out_len;
  int stream_ended;
  int released;
  int finished; /* closed() was reported */
  hl__req_t *req;
  hl_immediate_t imm;
} hl_fake_req_t;

/* Dispatch the request to the app. Returns hl__app_dispatch()'s result. */
int hl_fake_dispatch(hl_app_t *app, hl_fake_req_t *f);
/* The client goes away. */
void hl_fake_close(hl_fake_req_t *f);
/* A recorded response header (case-insensitive) or NULL. */
const char *hl_fake_header(const hl_fake_req_t *f, const char *name);
/* Free what the fake recorded. */
void hl_fake_free(hl_fake_req_t *f);
#endif

/** The origin's coded errors (prefix ORG_), each listed in docs/errors.md. */
export const originErrors = {
  ORG_BAD_PATH: 'the request path is malformed or tries to leave the media root (400)',
  ORG_NOT_FOUND: 'no published file at that path (404)',
  ORG_RANGE_NOT_SATISFIABLE: 'the Range asks for bytes beyond the end of the file (416)',
  ORG_FACTS_DROPPED: 'download facts were dropped because the event stream stayed unavailable',
} as const;

export type OriginErrorCode = keyof typeof originErrors;

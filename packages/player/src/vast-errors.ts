/**
 * The VAST 4.3 error codes the player reports (VAST 4.3 section 2.3.6.3). An ad failure is
 * reported with one of these and the content plays on.
 */
export const vastErrors = {
  /** XML parsing error. */
  xmlParse: 100,
  /** General wrapper error. */
  wrapper: 300,
  /** Timeout of the VAST URI (fetching the ad response). */
  vastUriTimeout: 301,
  /** No ads in the VAST response (no fill). */
  noAd: 303,
  /** General linear error: the player could not display the linear ad. */
  linear: 400,
  /** The media file was not found (HTTP 404 and the like). */
  fileNotFound: 401,
  /** Timeout of the media file: it did not start in time. */
  mediaTimeout: 402,
  /** No media file the player can play. */
  unsupportedMedia: 403,
  /** Problem displaying the media file (decode error). */
  mediaDisplay: 405,
  /** Undefined error. */
  undefined: 900,
} as const;

export type VastErrorCode = (typeof vastErrors)[keyof typeof vastErrors];

/** The VAST code for a failed HTMLMediaElement (MediaError.code 1..4). */
export function mediaErrorToVast(mediaErrorCode: number): VastErrorCode {
  switch (mediaErrorCode) {
    case 2: // MEDIA_ERR_NETWORK
      return vastErrors.fileNotFound;
    case 3: // MEDIA_ERR_DECODE
      return vastErrors.mediaDisplay;
    case 4: // MEDIA_ERR_SRC_NOT_SUPPORTED
      return vastErrors.unsupportedMedia;
    default: // 1 MEDIA_ERR_ABORTED and anything else
      return vastErrors.linear;
  }
}

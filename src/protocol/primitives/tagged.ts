/** A tagged field this code does not know, kept as raw bytes so it survives decode → encode. */
export interface TaggedField {
  tag: number;
  data: Uint8Array;
}

/** Present on every struct of a flexible message that carried tagged fields we do not know. */
export interface WithUnknownTags {
  _unknownTaggedFields?: TaggedField[];
}

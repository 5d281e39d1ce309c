/** A server.properties text as a map; each line splits at its first "=" (values may contain "="). */
export function parseProperties(text: string): Map<string, string> {
  return new Map(
    text
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s, 2) as [string, string]),
  );
}

/**
 * Attribute converters of `<webrtc-room>` (kept apart from the element so that they are unit-tested in Node).
 */
import type { ComplexAttributeConverter } from "lit";

/**
 * For attributes that default to on, such as `audio` and `video`: absent, empty or any other
 * value means on; `off`, `false`, `no` or `0` (any case) means off. So `<webrtc-room video="off">`
 * starts with the camera off, and removing the attribute turns the default back on.
 */
export const startOnConverter: ComplexAttributeConverter<boolean> = {
  fromAttribute(value: string | null): boolean {
    return value === null || !/^(off|false|no|0)$/i.test(value.trim());
  },
};

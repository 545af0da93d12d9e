export { type PickOptions, pickBlocks } from './pick-blocks.ts';
export { PieceState } from './piece-state.ts';
export { BLOCK_FREE, BLOCK_RECEIVED, type BlockRef, type PickerPeer, type PickerView } from './view.ts';
